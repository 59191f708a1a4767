"""The documentation builds strictly, and every example in it runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO, run_process

PAGES = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
TEST_FILE = re.compile(r"^# (test_\w+\.py)\n")


def blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text()) if lang == language]


def scripts(page: Path) -> list[str]:
    """Python blocks a reader runs as a script (test files are run by pytest instead)."""
    return [b for b in blocks(page, "python") if not TEST_FILE.match(b)]


def example_test_files() -> list[tuple[str, str, str]]:
    """Python blocks that are pytest files: their first line is ``# test_<name>.py``."""
    found = []
    for page in PAGES:
        for body in blocks(page, "python"):
            match = TEST_FILE.match(body)
            if match:
                found.append((page.name, match.group(1), body))
    return found


def shell_commands() -> list[tuple[str, str]]:
    commands = []
    for page in PAGES:
        for body in blocks(page, "bash"):
            for line in body.splitlines():
                line = line.split("  #")[0].strip()
                # The README's own two commands (make demo / make test) are what CI runs.
                if line.startswith("rendezvous-di "):
                    commands.append((page.name, line))
    return commands


def script_blocks() -> list[tuple[str, int, str]]:
    """Every script block of every page: (page, its number on the page, its code)."""
    return [(page.name, n, body) for page in PAGES for n, body in enumerate(scripts(page), 1)]


@pytest.mark.parametrize(
    ("page", "number", "body"),
    script_blocks(),
    ids=[f"{page}:{number}" for page, number, _ in script_blocks()],
)
def test_each_python_example_runs_on_its_own(
    page: str, number: int, body: str, tmp_path: Path
) -> None:
    """A block runs alone in a fresh interpreter, as a reader who copies that one block would:
    nothing defined by the blocks before it on the page (a class, an import) is there."""
    stem = Path(page).stem.lower()
    script = tmp_path / f"docs_example_{stem}_{number}.py"  # never shadow a module (platform)
    script.write_text(body)
    done = run_process([sys.executable, str(script)], timeout=300)
    assert done.returncode == 0, f"{page}, Python block {number}:\n{done.stderr}"


@pytest.mark.parametrize(
    ("page", "name", "body"),
    example_test_files(),
    ids=[f"{p}:{n}" for p, n, _ in example_test_files()],
)
def test_example_test_files_pass(page: str, name: str, body: str, tmp_path: Path) -> None:
    """Example test files pass under pytest with the installed plugin, as users run them."""
    (tmp_path / name).write_text(body)
    done = run_process(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name],
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, f"{page}: {name}\n{done.stdout}\n{done.stderr}"
    assert " passed" in done.stdout


@pytest.mark.parametrize(("page", "command"), shell_commands())
def test_shell_examples_run(page: str, command: str) -> None:
    bin_dir = Path(sys.executable).parent
    argv = shlex.split(command)
    done = run_process([str(bin_dir / argv[0]), *argv[1:]], timeout=300)
    assert done.returncode == 0, f"{page}: {command}\n{done.stderr}"


def test_docs_build_strictly(site_build: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, site = site_build
    assert done.returncode == 0, done.stderr
    assert (site / "backends" / "index.html").read_text().count("heartbeat_timeout") >= 2


def test_readme_shows_the_published_benchmark_results() -> None:
    from benchmarks.report import readme_table

    published = (REPO / "benchmarks" / "results" / "results.md").read_text().strip()
    assert readme_table(REPO / "README.md") == published
