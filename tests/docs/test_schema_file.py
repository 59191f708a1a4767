"""The site publishes the settings file's schema: exactly what ``rendezvous-di schema`` prints."""

from __future__ import annotations

from pathlib import Path

from tests.support.procs import run_cli


def test_the_published_schema_is_the_command_s_output(built_site: Path) -> None:
    published = built_site / "config.schema.json"
    done = run_cli(["schema"])
    assert done.returncode == 0, done.stderr
    assert published.read_text() == done.stdout
    page = (built_site / "configuration" / "index.html").read_text()
    assert 'href="../config.schema.json"' in page
