"""The version is written once, in rendezvous_di/_version.py, and everything reads it there."""

from __future__ import annotations

import tomllib
from importlib.metadata import version

from rendezvous_di import __version__
from rendezvous_di._version import __version__ as written
from tests.support.procs import REPO, run_cli


def test_packaging_reads_the_version_module() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "rendezvous_di._version.__version__"}
    assert version("rendezvous-di") == written == __version__  # the installed metadata


def test_the_command_line_prints_it() -> None:
    done = run_cli(["--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"rendezvous-di {written}"


def test_the_docs_and_the_changelog_name_it() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    assert hooks.on_config({"site_name": "x"})["site_name"] == f"rendezvous-di {written}"
    assert hooks.on_page_markdown("v<!-- generated: version -->") == f"v{written}"
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert f"## [{written}] - " in changelog
