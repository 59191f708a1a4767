"""Platforms under the CLI: `--config FILE --config-key KEY` and `--container` factories.

A platform's own YAML keeps rendezvous-di's settings under a key; `--config-key` reads
them from there as a `--config` file (the lowest source) and ignores the rest. A
`--container MODULE:NAME` factory builds the platform's container with its own
configuration, which the CLI's class form would lose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rendezvous_di import RendezvousContainer
from rendezvous_di.cli import main as cli_main
from rendezvous_di.errors import ConfigError
from tests.support.jobs import WORKER, expected_sum, read_reports
from tests.support.procs import REPO, run_cli

PLATFORM_YAML = REPO / "containers" / "platform" / "platform.yaml"
FACTORY = "containers.platform.factory:configured_platform"
PLATFORM_CLASS = "containers.platform:TrainingPlatformContainer"

NESTED = """\
cluster: research
platform:
  scheduler: slurm
  rendezvous:
    backend: c10d
    endpoint: 10.0.0.5:29400
    run_id: nested
    nnodes: 1:3
    conf:
      join_timeout: 90
  queues: [a, b]
"""


@pytest.fixture(autouse=True)
def _no_platform_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The factory reads PLATFORM_CONFIG; the shell running the tests may set it."""
    monkeypatch.delenv("PLATFORM_CONFIG", raising=False)


def config_json(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    code = cli_main(["config", "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    shown = json.loads(out)
    return shown["values"], shown["sources"]


def error_of(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = cli_main(args)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    first: str = err.splitlines()[0]
    assert first.startswith("error: ")
    return first


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(NESTED)
    return path


def test_settings_under_a_dotted_key(nested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values, sources = config_json(
        ["--config", str(nested), "--config-key", "platform.rendezvous"], capsys
    )
    assert values["endpoint"] == "10.0.0.5:29400"
    assert (values["run_id"], values["min_nodes"], values["max_nodes"]) == ("nested", 1, 3)
    assert values["conf"] == {"join_timeout": 90}
    assert sources["endpoint"] == f"file {nested} under platform.rendezvous"


def test_the_file_stays_the_lowest_source(
    nested: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PET_RDZV_ID", "from-env")
    args = ["--config", str(nested), "--config-key", "platform.rendezvous", "--nnodes", "2"]
    values, sources = config_json(args, capsys)
    assert values["run_id"] == "from-env"
    assert sources["run_id"] == "env PET_RDZV_ID"
    assert values["max_nodes"] == 2
    assert sources["max_nodes"] == "flag --nnodes"
    assert values["endpoint"] == "10.0.0.5:29400"


@pytest.mark.parametrize(
    ("key", "fragments"),
    [
        ("", ["config_key", "'' is not a dotted key"]),
        ("platform..rendezvous", ["'platform..rendezvous' is not a dotted key"]),
        (".", ["is not a dotted key"]),
        ("rendezvous", ["has no key 'rendezvous' at the top", "valid choices: cluster, platform"]),
        ("platform.rdzv", ["no key 'rdzv' at platform", "scheduler, rendezvous, queues"]),
        ("platform.queues", ["'platform.queues' of", "is list, not a mapping of settings"]),
        ("cluster", ["'cluster' of", "is str, not a mapping"]),
        ("cluster.x", ["cluster of", "is str, not a mapping with key 'x'"]),
        ("k" * 5000, ["(5000 characters)"]),
    ],
)
def test_a_bad_key_names_the_key_the_file_and_its_keys(
    key: str, fragments: list[str], nested: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = error_of(["config", "--config", str(nested), "--config-key", key], capsys)
    assert first.startswith("error: config_key"), first
    for fragment in fragments:
        assert fragment in first, first
    assert len(first) < 600


def test_a_missing_key_in_a_wide_file_stays_one_bounded_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = tmp_path / "wide.yaml"
    wide.write_text("".join(f"key{i}_{'x' * 100}: {i}\n" for i in range(500)))
    first = error_of(["config", "--config", str(wide), "--config-key", "rendezvous"], capsys)
    assert "500 keys there" in first
    assert len(first) < 1500


def test_an_empty_file_has_no_key(capsys: pytest.CaptureFixture[str]) -> None:
    first = error_of(["config", "--config", "/dev/null", "--config-key", "rendezvous"], capsys)
    assert "the top of /dev/null is empty, not a mapping with key 'rendezvous'" in first


def test_a_key_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    first = error_of(["config", "--config-key", "rendezvous"], capsys)
    assert "needs a config file" in first


def test_a_file_that_is_a_list_at_the_top(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- rendezvous\n")
    first = error_of(["config", "--config", str(listed), "--config-key", "rendezvous"], capsys)
    assert "the top of" in first
    assert "is list" in first


def test_an_empty_key_value_means_no_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("cluster: x\nrendezvous:\n")
    values, sources = config_json(
        ["--config", str(empty), "--config-key", "rendezvous", "--rdzv-id", "r"], capsys
    )
    assert values["backend"] == "c10d"
    assert sources["backend"] == "default"


def test_a_profile_with_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    first = error_of(["config", "--profile", "c10d", "--config-key", "rendezvous"], capsys)
    assert "has no key 'rendezvous'" in first
    assert "backend" in first


def test_run_dry_run_reads_the_key_too(nested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(
        ["run", "--dry-run", "--config", str(nested), "--config-key", "platform.rendezvous", "t.py"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "--rdzv-endpoint 10.0.0.5:29400 --rdzv-id nested --nnodes 1:3" in out


def test_the_container_takes_the_key_in_python(nested: Path) -> None:
    container = RendezvousContainer()
    container.environ.override({})
    container.config_file.override(str(nested))
    container.config_key.override("platform.rendezvous")
    assert container.settings().run_id == "nested"
    container.config_key.override("platform.nowhere")
    with pytest.raises(ConfigError, match="no key 'nowhere' at platform") as caught:
        container.settings()
    assert caught.value.field == "config_key"


# --container: the factory form keeps the platform's configuration


def test_the_factory_builds_the_platform_from_its_own_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    values, sources = config_json(["--container", FACTORY], capsys)
    assert values["backend"] == "platform"
    assert values["run_id"] == "nightly"
    assert sources["run_id"] == f"file {PLATFORM_YAML} under rendezvous"


def test_the_class_form_reads_the_same_block_with_config_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--container", PLATFORM_CLASS, "--config", str(PLATFORM_YAML)]
    values, _ = config_json([*args, "--config-key", "rendezvous"], capsys)
    assert (values["backend"], values["run_id"]) == ("platform", "nightly")
    # without the key, the platform's own keys are not settings: refused, not ignored
    first = error_of(["config", *args], capsys)
    assert "unknown setting 'cluster'" in first


FACTORIES = """\
from containers.platform import TrainingPlatformContainer
from rendezvous_di import RendezvousContainer

def platform():
    container = TrainingPlatformContainer()
    container.config.from_dict({"rendezvous": {"run_id": "from-factory"}})
    return container

def plain():
    container = RendezvousContainer()
    container.config.from_dict({"run_id": "plain-factory"})
    return container

def the_class():
    return RendezvousContainer

INSTANCE = plain()

def nothing():
    return None

def needs(argument):
    return RendezvousContainer()

def explodes():
    raise SystemExit(3)

class NotAContainer:
    pass
"""


@pytest.fixture
def factories(tmp_path: Path) -> str:
    module = tmp_path / "factories.py"
    module.write_text(FACTORIES)
    return str(module)


@pytest.mark.parametrize(
    ("name", "run_id"),
    [("platform", "from-factory"), ("plain", "plain-factory"), ("INSTANCE", "plain-factory")],
)
def test_a_factory_or_an_instance_is_used_as_configured(
    name: str, run_id: str, factories: str
) -> None:
    done = run_cli(["config", "--json", "--container", f"{factories}:{name}"], timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["values"]["run_id"] == run_id


def test_a_factory_returning_the_class_gets_an_instance(factories: str) -> None:
    done = run_cli(
        ["config", "--json", "--rdzv-id", "x", "--container", f"{factories}:the_class"],
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["values"]["run_id"] == "x"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("nothing", "None (NoneType) is neither a RendezvousContainer"),
        ("needs", "calling 'needs' raised TypeError"),
        ("explodes", "calling 'explodes' raised SystemExit: 3"),
        ("NotAContainer", "is neither a RendezvousContainer"),
    ],
)
def test_a_wrong_kind_of_target_exits_2(name: str, fragment: str, factories: str) -> None:
    done = run_cli(["config", "--container", f"{factories}:{name}"], timeout=60)
    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: --container"), done.stderr
    assert fragment in first, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_job_through_the_factory_keeps_the_platforms_configuration(tmp_path: Path) -> None:
    """The platform's ``cluster`` (research) names the run: with the class, it is lost."""
    done = run_cli(
        ["run", "--container", FACTORY, "--nproc-per-node", "2", str(WORKER), str(tmp_path)],
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    reports = read_reports(tmp_path)
    assert {r["sum"] for r in reports} == {expected_sum(2)}
    assert {r["run_id"] for r in reports} == {"research.nightly"}
