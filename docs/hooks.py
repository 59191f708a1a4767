"""mkdocs hook: tables generated from the code, so nothing is written twice.

A page writes ``<!-- generated: NAME [ARG] -->`` and gets the table in its place:
``backend-options BACKEND``, ``torchrun-options``, ``cli-help COMMAND``,
``benchmark-results``, ``compat-matrix`` (the ``make compat`` records in
``docs/compat-results/``) and ``changelog`` (CHANGELOG.md, kept once at the top).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- generated: ([\w-]+)(?: ([\w-]+))? -->")


def backend_options(name: str) -> str:
    from rendezvous_di.backends.builtin import BUILTIN_BACKENDS

    backend = BUILTIN_BACKENDS[name]
    assert backend.schema is not None
    rows = ["| option | type | default | meaning |", "| --- | --- | --- | --- |"]
    for option in backend.schema.options:
        default = "-" if option.default is None else f"`{option.default}`"
        notes = []
        if option.required:
            notes.append("required")
        if option.launcher:
            notes.append("torchrun passes it itself")
        extra = f" ({', '.join(notes)})" if notes else ""
        rows.append(f"| `{option.name}` | {option.type_name} | {default} | {option.help}{extra} |")
    deps = ", ".join(f"`{m}` (extra `{e}`)" for m, e in backend.requires) or "none"
    return (
        f"{backend.summary}. Default endpoint `{backend.default_endpoint}`; "
        f"needs: {deps}.\n\n" + "\n".join(rows)
    )


def torchrun_options(_: str | None) -> str:
    from rendezvous_di.config.torchrun import TORCHRUN_OPTIONS

    rows = ["| setting | torchrun flag | environment | meaning |", "| --- | --- | --- | --- |"]
    for option in TORCHRUN_OPTIONS:
        rows.append(f"| `{option.key}` | `{option.flag}` | `{option.env}` | {option.help} |")
    return "\n".join(rows)


def cli_help(command: str | None) -> str:
    args = [command, "--help"] if command and command != "main" else ["--help"]
    done = subprocess.run(
        [sys.executable, "-m", "rendezvous_di", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return f"```text\n{done.stdout.rstrip()}\n```"


def benchmark_results(_: str | None) -> str:
    results = ROOT / "benchmarks" / "results" / "results.md"
    if not results.exists():
        return "_No results yet: run `make bench`._"
    return results.read_text()


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0]))


def compat_matrix(_: str | None) -> str:
    records = [json.loads(p.read_text()) for p in (ROOT / "docs" / "compat-results").glob("*.json")]
    if not records:
        return "_No runs yet: `make compat TORCH=X [DI=Y]`._"
    records.sort(key=lambda r: (_release(r["torch"]), _release(r["dependency-injector"])))
    rows = [
        "| torch | dependency-injector | Python | passed | failed | errors | skipped | date (UTC) "
        "| commit | not passed |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in records:
        failing = "<br>".join(f"`{t}`" for t in r["not_passed"]) or "-"
        date = r["date"][:16].replace("T", " ")
        rows.append(
            f"| {r['torch']} | {r['dependency-injector']} | {r['python']} | {r['passed']} "
            f"| {r['failed']} | {r['errors']} | {r['skipped']} | {date} "
            f"| `{r['revision']}` | {failing} |"
        )
    return "\n".join(rows)


def changelog(_: str | None) -> str:
    text = (ROOT / "CHANGELOG.md").read_text()
    return text.split("\n", 1)[1]  # the page has its own title


def version(_: str | None) -> str:
    from rendezvous_di._version import __version__

    return __version__


GENERATORS = {
    "backend-options": backend_options,
    "torchrun-options": torchrun_options,
    "cli-help": cli_help,
    "benchmark-results": benchmark_results,
    "compat-matrix": compat_matrix,
    "changelog": changelog,
    "version": version,
}


def on_config(config: Any, **_: Any) -> Any:
    config["site_name"] = f"rendezvous-di {version(None)}"
    return config


def on_page_markdown(markdown: str, **_: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        return GENERATORS[match.group(1)](match.group(2))  # type: ignore[operator]

    return MARKER.sub(replace, markdown)
