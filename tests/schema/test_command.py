"""``rendezvous-di schema``: stable JSON on stdout or in a file, exit 2 on bad input, platforms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from tests.support.procs import REPO, run_cli

OWN = f"{REPO / 'tests' / 'platform' / 'own_container.py'}:Own"


def test_output_is_stable_json_with_one_trailing_newline(tmp_path: Path) -> None:
    first, second = run_cli(["schema"]), run_cli(["schema"])
    assert (first.returncode, second.returncode) == (0, 0), first.stderr
    assert first.stdout == second.stdout
    assert first.stdout.endswith("}\n")
    assert not first.stdout.endswith("\n\n")
    assert first.stderr == ""
    schema = json.loads(first.stdout)
    assert list(schema)[:4] == ["$schema", "$id", "title", "description"]
    written = tmp_path / "config.schema.json"
    done = run_cli(["schema", "--output", str(written)])
    assert (done.returncode, done.stdout) == (0, "")
    assert written.read_text() == first.stdout


def test_a_platform_container_s_backends_and_options_are_in_it(tmp_path: Path) -> None:
    done = run_cli(["schema", "--container", OWN])
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    validator = Draft202012Validator(schema)
    assert {"own", "zoned"} <= set(schema["properties"]["backend"]["anyOf"][0]["enum"])
    assert validator.is_valid({"backend": "zoned", "conf": {"zone": "B", "spare_nodes": "2"}})
    assert not validator.is_valid({"backend": "zoned", "conf": {"zone": "c"}})
    assert not validator.is_valid({"backend": "zoned", "conf": {"spare_nodes": -1}})
    assert not validator.is_valid({"backend": "zoned", "conf": {"zones": "a"}})
    # "own" declared no options: they pass through, as validation lets them.
    assert validator.is_valid({"backend": "own", "conf": {"anything": "goes"}})


def test_a_denied_plugin_is_not_offered(tmp_path: Path) -> None:
    config = tmp_path / "deny.yaml"
    config.write_text("plugins:\n  deny: [etcd-v3]\n")
    done = run_cli(["schema", "--config", str(config)])
    assert done.returncode == 0, done.stderr
    backends = json.loads(done.stdout)["properties"]["backend"]["anyOf"][0]["enum"]
    assert "etcd-v3" not in backends
    assert "c10d" in backends


def _refused(args: list[str], *needles: str) -> Any:
    done = run_cli(args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    first = done.stderr.splitlines()[0]
    assert first.startswith("error:")
    for needle in needles:
        assert needle in first
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    return first


def test_bad_flags_exit_2_with_one_error_line(tmp_path: Path) -> None:
    _refused(["schema", "--bogus"], "--bogus")
    _refused(["schema", "--output"], "--output")
    _refused(["schema", "--output", ""], "--output", "empty")
    _refused(["schema", "--output", str(tmp_path / "no" / "such" / "dir.json")], "--output")
    _refused(["schema", "--config", str(tmp_path / "missing.yaml")], "missing.yaml")
    _refused(["schema", "--profile", "nosuch"], "nosuch")
    _refused(["schema", "--container", "no_such_module:Nothing"], "no_such_module")


PLATFORM_FILE = """\
cluster: a
platform:
  nproc_per_node: 8
  rendezvous:
    backend: c10d
    endpoint: h:29400
    conf:
      join_timeout: {timeout}
"""


def test_config_key_describes_a_platform_s_file(tmp_path: Path) -> None:
    """With ``--config-key``, the settings sit under that key; the platform's keys are its own."""
    from rendezvous_di import ConfigError, RendezvousContainer
    from tests.schema.conftest import as_an_editor_reads

    done = run_cli(["schema", "--config-key", "platform.rendezvous"])
    assert done.returncode == 0, done.stderr
    validator = Draft202012Validator(json.loads(done.stdout))
    for text, accepted in [
        (PLATFORM_FILE.format(timeout=60), True),
        (PLATFORM_FILE.format(timeout="soon"), False),
        (PLATFORM_FILE.format(timeout=60).replace("join_timeout", "join_timout"), False),
        ("cluster: a\nplatform:\n  nproc_per_node: 8\n", False),
    ]:
        path = tmp_path / "platform.yaml"
        path.write_text(text)
        container = RendezvousContainer()
        container.environ.override({})
        container.config_file.override(str(path))
        container.config_key.override("platform.rendezvous")
        try:
            container.settings()
        except ConfigError:
            loader = False
        else:
            loader = True
        assert (loader, validator.is_valid(as_an_editor_reads(text))) == (accepted, accepted), text
    # The same key with the file: its plugins policy is read from under the key.
    path.write_text(PLATFORM_FILE.format(timeout=60))
    with_file = run_cli(["schema", "--config", str(path), "--config-key", "platform.rendezvous"])
    assert with_file.stdout == done.stdout
    _refused(["schema", "--config-key", "a..b"], "--config-key", "a..b")
