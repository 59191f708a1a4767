"""mkdocs hook: tables generated from the code, so nothing is written twice.

A page writes ``<!-- generated: NAME [ARG] -->`` and gets the table in its place:
``backend-options BACKEND``, ``torchrun-options``, ``cli-help COMMAND``,
``benchmark-results``, ``rendezvous-scale``, ``rendezvous-simulated``, ``compat-matrix``
(the ``make compat`` records in ``docs/compat-results/``), ``changelog`` (CHANGELOG.md, kept
once at the top)
``scheduler-config EXAMPLE`` (``rendezvous-di config`` run in a scheduler's environment)
and ``scheduler-error EXAMPLE`` (the one error line it exits 2 with there), and
``refusals CLASS`` (commands refused by class, each with its one error line) and ``shown
CASE`` (what a command prints where it needs a setting: a real etcd without its v2 API,
a signal while ``run`` waits, output that cannot be written; ``docs/shown_cases.py``).
The site also gets ``config.schema.json``, what ``rendezvous-di schema`` prints.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- generated: ([\w-]+)(?: ([\w-]+))? -->")

# Plain text that Markdown would read as markup: ``|`` splits a table cell, ``<host>`` is an
# HTML tag to a browser, ``*``/``_`` start emphasis, backslashes and brackets escape and link.
_TEXT_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "\\": "\\\\",
        "|": "\\|",
        "*": "\\*",
        "_": "\\_",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
    }
)


def cell(value: object, *, code: bool = False) -> str:
    """``value`` as Markdown that renders as exactly its text, in a table cell or a sentence.

    The generated values are plain text written for ``--help`` (``tcp|file``,
    ``<host>[:<port>]``, ``PET_*``); pasted into Markdown as they are, a browser
    shows other columns, no text or stray emphasis. ``code=True`` gives a code span,
    where Markdown reads nothing but backticks (and Python-Markdown's tables keep
    a ``|`` inside one in its cell), so the fence is longer than any run of
    backticks in the text.
    """
    text = str(value)
    if not code:
        return text.translate(_TEXT_ESCAPES)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def documented_backends() -> dict[str, Any]:
    """torch's built-ins and the backends rendezvous-di itself ships (etcd-v3), by name."""
    from rendezvous_di.backends import etcd_v3
    from rendezvous_di.backends.builtin import BUILTIN_BACKENDS

    return {**BUILTIN_BACKENDS, etcd_v3.NAME: etcd_v3.DESCRIPTION}


def backend_options(name: str) -> str:
    backend = documented_backends()[name]
    assert backend.schema is not None
    rows = ["| option | type | default | meaning |", "| --- | --- | --- | --- |"]
    for option in backend.schema.options:
        default = "-" if option.default is None else cell(option.default, code=True)
        notes = []
        if option.required:
            notes.append("required")
        if option.launcher:
            notes.append("torchrun passes it itself")
        extra = f" ({', '.join(notes)})" if notes else ""
        row = (
            cell(option.name, code=True),
            cell(option.type_name),
            default,
            cell(option.help + extra),
        )
        rows.append(f"| {' | '.join(row)} |")
    deps = (
        ", ".join(f"{cell(m, code=True)} (extra {cell(e, code=True)})" for m, e in backend.requires)
        or "none"
    )
    return (
        f"{cell(backend.summary)}. Default endpoint {cell(backend.default_endpoint, code=True)}; "
        f"needs: {deps}.\n\n" + "\n".join(rows)
    )


def torchrun_options(_: str | None) -> str:
    from rendezvous_di.config.torchrun import TORCHRUN_OPTIONS

    rows = ["| setting | torchrun flag | environment | meaning |", "| --- | --- | --- | --- |"]
    for option in TORCHRUN_OPTIONS:
        row = (
            *(cell(v, code=True) for v in (option.key, option.flag, option.env)),
            cell(option.help),
        )
        rows.append(f"| {' | '.join(row)} |")
    return "\n".join(rows)


def cli_help(command: str | None) -> str:
    args = [command, "--help"] if command and command != "main" else ["--help"]
    return f"```text\n{_cli(*args).stdout.rstrip()}\n```"


def benchmark_results(_: str | None) -> str:
    results = ROOT / "benchmarks" / "results" / "results.md"
    if not results.exists():
        return "_No results yet: run `make bench`._"
    return results.read_text()


def rendezvous_scale(_: str | None) -> str:
    results = ROOT / "benchmarks" / "results" / "rendezvous_scale.md"
    if not results.exists():
        return "_No results yet: run `python -m benchmarks --only rendezvous_scale`._"
    return results.read_text()


def rendezvous_simulated(_: str | None) -> str:
    results = ROOT / "benchmarks" / "results" / "rendezvous_simulated.md"
    if not results.exists():
        return "_No results yet: run `python -m benchmarks.rendezvous_simulated`._"
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


SCHEDULER_EXAMPLES: dict[str, dict[str, str]] = {
    "slurm": {
        "SLURM_JOB_ID": "81234",
        "SLURM_JOB_NODELIST": "gpu[017-018,020]",
        "SLURM_JOB_NUM_NODES": "3",
        "SLURM_STEP_ID": "0",
        "SLURMD_NODENAME": "gpu017",
    },
    "slurm-batch": {
        "SLURM_JOB_ID": "81234",
        "SLURM_JOB_NODELIST": "gpu[017-018,020]",
        "SLURM_JOB_NUM_NODES": "3",
        "SLURMD_NODENAME": "gpu017",
    },
    "slurm-step": {
        "SLURM_JOB_ID": "81234",
        "SLURM_JOB_NODELIST": "gpu[017-018,020]",
        "SLURM_JOB_NUM_NODES": "3",
        "SLURM_STEP_ID": "2",
        "SLURM_STEP_NODELIST": "gpu[018,020]",
        "SLURM_STEP_NUM_NODES": "2",
        "SLURMD_NODENAME": "gpu018",
    },
    "kubeflow-trainer": {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "PET_NNODES": "2",
        "PET_NPROC_PER_NODE": "4",
        "PET_NODE_RANK": "1",
        "PET_MASTER_ADDR": "llama-node-0-0.llama",
        "PET_MASTER_PORT": "29400",
    },
    "kubeflow-pytorchjob": {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "MASTER_ADDR": "mnist-master-0",
        "MASTER_PORT": "23456",
        "WORLD_SIZE": "8",
        "RANK": "1",
        "PET_NNODES": "2",
        "PET_NODE_RANK": "1",
        "PET_NPROC_PER_NODE": "4",
    },
}
"""Environments as the schedulers set them (a few of their variables), for the docs' examples."""

_SCHEDULER_VARIABLES = ("PET_", "RENDEZVOUS_DI_", "SLURM_", "KUBERNETES_SERVICE_HOST")


def scheduler_config(example: str | None) -> str:
    """``rendezvous-di config`` in one of `SCHEDULER_EXAMPLES`: its command and its table."""
    given = SCHEDULER_EXAMPLES[str(example)]
    done = _cli("config", env=_scheduler_environ(given))
    command = _scheduler_command(given)
    rows = ["| setting | value | source |", "| --- | --- | --- |"]
    for line in done.stdout.splitlines():
        key, value, source = line.split("\t")
        if source != "default":
            rows.append(f"| {cell(key, code=True)} | {cell(value, code=True)} | {cell(source)} |")
    return f"```text\n$ {command}\n```\n\n" + "\n".join(rows)


def scheduler_error(example: str | None) -> str:
    """``rendezvous-di config`` in one of `SCHEDULER_EXAMPLES` that it refuses: its command and
    its one ``error:`` line (the build fails if it does not exit 2 with one)."""
    given = SCHEDULER_EXAMPLES[str(example)]
    done = _cli("config", env=_scheduler_environ(given), check=False)
    lines = done.stderr.splitlines()
    if done.returncode != 2 or len(lines) != 1 or not lines[0].startswith("error: "):
        raise RuntimeError(f"scheduler-error {example}: exit {done.returncode}\n{done.stderr}")
    return f"```text\n$ {_scheduler_command(given)}\n{lines[0]}\n```"


def _scheduler_environ(given: dict[str, str]) -> dict[str, str]:
    """This environment less its own scheduler variables, plus ``given``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCHEDULER_VARIABLES)}
    return {**env, **given}


def _scheduler_command(given: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in given.items()) + " rendezvous-di config"


REFUSALS: dict[str, list[str]] = {
    "never-meet": [
        "run --standalone --nnodes 2 train.py",
        "check --nnodes 2 --node-rank 0 --master-port 0",
        "run --master-port 0 train.py",
    ],
    "launcher-flags": [
        "run --monitor-interval nan train.py",
        "run --redirects 9 train.py",
        "run --local-ranks-filter abc train.py",
        "run --nproc-per-node two train.py",
        "run --log-dir /proc/logs train.py",
        "run no/such/train.py",
        "run --no-python no-such-program",
    ],
    "special-files": [
        "config --rdzv-backend etcd-v3 --rdzv-conf protocol=https,ca_cert=/dev/zero",
        "config --rdzv-backend etcd-v3 --rdzv-conf protocol=https,ca_cert=docs",
        "run --dry-run --log-dir /dev/zero train.py",
    ],
    "limits": [
        "config --rdzv-backend etcd-v3 --rdzv-conf lease_ttl=9000000001",
        "config --nnodes 0",
        "config --nnodes 2:1",
        "config --master-port 70000",
        "config --nnodes 2 --node-rank 2",
        "run --max-restarts -1 train.py",
        "run --nproc-per-node 0 train.py",
        "config --rdzv-endpoint node0:29400 --rdzv-conf join_timeout=0",
    ],
    "addresses": [
        "config --rdzv-backend etcd-v3 --rdzv-endpoint https://etcd:2379",
        "config --rdzv-backend etcd-v3 --rdzv-endpoint http://etcd:2379",
        "config --rdzv-backend c10d --nnodes 2 --rdzv-endpoint tcp://node0:29400",
        "config --nnodes 2 --master-addr node0:29500",
        "config --nnodes 2 --master-addr http://node0",
        "schema --output /no/such/dir/schema.json",
    ],
}
"""Commands that ``rendezvous-di`` refuses, by class, for ``refusals CLASS``."""


def refusals(name: str | None) -> str:
    """Each command of `REFUSALS` ``name`` and the one ``error:`` line it exits 2 with, as
    run from this checkout (the build fails if one does not)."""
    shown = []
    for command in REFUSALS[str(name)]:
        done = _cli(*command.split(), check=False)
        lines = done.stderr.splitlines()
        if done.returncode != 2 or len(lines) != 1 or not lines[0].startswith("error: "):
            raise RuntimeError(f"refusals {name}: {command}: exit {done.returncode}\n{done.stderr}")
        shown.append(f"$ rendezvous-di {command}\n{lines[0]}")
    return "```text\n" + "\n".join(shown) + "\n```"


def shown(case: str | None) -> str:
    """The real output of `shown_cases.CASES` ``case``, as run from this checkout."""
    import importlib.util

    # Next to this hook, loaded by path: mkdocs puts docs/ on sys.path only while it loads us.
    spec = importlib.util.spec_from_file_location("shown_cases", ROOT / "docs" / "shown_cases.py")
    assert spec is not None
    assert spec.loader is not None
    cases = sys.modules.setdefault("shown_cases", importlib.util.module_from_spec(spec))
    if not hasattr(cases, "CASES"):
        spec.loader.exec_module(cases)
    return (
        "```text\n" + "\n".join(cases.run_case(c, ROOT) for c in cases.CASES[str(case)]) + "\n```"
    )


def version(_: str | None) -> str:
    from rendezvous_di._version import __version__

    return __version__


GENERATORS = {
    "backend-options": backend_options,
    "torchrun-options": torchrun_options,
    "cli-help": cli_help,
    "benchmark-results": benchmark_results,
    "rendezvous-scale": rendezvous_scale,
    "rendezvous-simulated": rendezvous_simulated,
    "compat-matrix": compat_matrix,
    "changelog": changelog,
    "scheduler-config": scheduler_config,
    "scheduler-error": scheduler_error,
    "refusals": refusals,
    "shown": shown,
    "version": version,
}


SCHEMA_FILE = "config.schema.json"


def settings_schema() -> str:
    """``rendezvous-di schema`` as it prints it: the published copy is the command's output."""
    return _cli("schema").stdout


def _cli(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``rendezvous-di ARGS`` from this checkout, as a reader would run it."""
    return subprocess.run(
        [sys.executable, "-m", "rendezvous_di", *args],
        capture_output=True,
        text=True,
        check=check,
        cwd=ROOT,
        env=env,
    )


def on_files(files: Any, config: Any, **_: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, SCHEMA_FILE, content=settings_schema()))
    return files


def on_config(config: Any, **_: Any) -> Any:
    config["site_name"] = f"rendezvous-di {version(None)}"
    return config


def on_page_markdown(markdown: str, **_: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        return GENERATORS[match.group(1)](match.group(2))  # type: ignore[operator]

    return MARKER.sub(replace, markdown)
