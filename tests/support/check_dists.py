"""Admission check plugins as a real installed distribution (group ``rendezvous_di.checks``).

One wheel, built with pip in a temp dir and unpacked into a site directory,
declares a well-behaved check and hostile ones: one that raises, one that
hangs, one that calls ``os._exit``, one whose import fails, and a group check.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

MODULE = '''\
"""Admission checks of the rdzv-checks test distribution."""
import os
import time


def tidy(options, context):
    """a tidy check that passes with its option as a measurement"""
    if options["limit"] > 5:
        return {"status": "failed", "reason": f"limit {options['limit']} is above 5"}
    return {"status": "passed", "measurements": {"limit": options["limit"]}}


tidy.admission_options = {"limit": {"type": int, "default": 1, "help": "a limit", "minimum": 0}}


def raises(options, context):
    raise RuntimeError("the check broke on purpose")


def hangs(options, context):
    time.sleep(3600)


hangs.admission_timeout = 2


def exits(options, context):
    os._exit(7)


def grouped(options, context):
    return None


grouped.admission_kind = "group"
'''

ENTRY_POINTS = {
    "tidy": "rdzv_checks:tidy",
    "raises": "rdzv_checks:raises",
    "hangs": "rdzv_checks:hangs",
    "exits": "rdzv_checks:exits",
    "grouped": "rdzv_checks:grouped",
    "broken": "rdzv_checks_missing:check",
    "killer": "rdzv_checks_exit:check",
}

EXIT_AT_IMPORT = "import os\n\nos._exit(9)\n"
"""A module whose import ends its process: listing or selecting it must survive that."""


def build_and_install(root: Path) -> Path:
    """Build the ``rdzv-checks`` wheel offline and unpack it; the site directory to add."""
    project = root / "src"
    project.mkdir(parents=True)
    entry_points = "\n".join(f'"{k}" = "{v}"' for k, v in ENTRY_POINTS.items())
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "rdzv-checks"
            version = "1.0"

            [project.entry-points."rendezvous_di.checks"]
            """
        )
        + entry_points
        + '\n\n[tool.setuptools]\npy-modules = ["rdzv_checks", "rdzv_checks_exit"]\n'
    )
    (project / "rdzv_checks.py").write_text(MODULE)
    (project / "rdzv_checks_exit.py").write_text(EXIT_AT_IMPORT)
    wheels = root / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(wheels),
            str(project),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    site = root / "site"
    with zipfile.ZipFile(next(wheels.glob("rdzv_checks-*.whl"))) as archive:
        archive.extractall(site)
    return site
