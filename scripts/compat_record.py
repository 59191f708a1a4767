"""One `make compat` run as a JSON record: the versions really installed, and pytest's counts.

Run by scripts/compat.sh with the compat venv's Python, so the versions read here are the
ones the suite ran against (read from installed metadata, not from what was asked for).
docs/compatibility.md renders every record in docs/compat-results/ as one table row
(the mkdocs hook's ``compat-matrix``), so the published numbers are exactly these files.
"""

from __future__ import annotations

import argparse
import json
import platform
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path


def counts(junit_xml: Path) -> dict[str, object]:
    """Passed, failed, errors and skipped from pytest's JUnit XML, with the failing test ids."""
    root = ET.parse(junit_xml).getroot()
    failed: list[str] = []
    tally = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    for case in root.iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None:
            tally["failed"] += 1
            failed.append(test_id)
        elif case.find("error") is not None:
            tally["errors"] += 1
            failed.append(test_id)
        elif case.find("skipped") is not None:
            tally["skipped"] += 1
        else:
            tally["passed"] += 1
    return {**tally, "not_passed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("junit_xml", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--started", required=True, help="UTC start of the run (ISO 8601)")
    parser.add_argument("--pytest-exit", type=int, required=True)
    parser.add_argument("--revision", default="", help="the commit tested (+changes if dirty)")
    args = parser.parse_args()
    record = {
        "date": args.started,
        "python": platform.python_version(),
        "torch": version("torch"),
        "dependency-injector": version("dependency-injector"),
        "revision": args.revision,
        "pytest_exit": args.pytest_exit,
        **counts(args.junit_xml),
    }
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"compat: torch {record['torch']}, dependency-injector {record['dependency-injector']}: "
        f"{record['passed']} passed, {record['failed']} failed, {record['errors']} errors, "
        f"{record['skipped']} skipped"
    )


if __name__ == "__main__":
    main()
