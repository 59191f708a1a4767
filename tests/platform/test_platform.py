"""The example platform: nesting, a backend declared in code, wiring, lifecycle, real jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import providers

from containers.platform import TrainingPlatformContainer
from containers.platform.launcher import launch
from containers.platform.services import RoundReport
from rendezvous_di import ConfigError, RendezvousContainer, add_backend
from rendezvous_di._torch import rendezvous_module
from tests.support.jobs import WORKER, expected_sum, read_reports
from tests.support.procs import REPO, run_cli

rdzv = rendezvous_module()  # torch is a hard dependency: never skipped

PLATFORM = "containers.platform:TrainingPlatformContainer"


@pytest.fixture
def platform() -> Iterator[TrainingPlatformContainer]:
    """A wired platform on loopback, PET_* ignored; resources shut down and unwired after."""
    container = TrainingPlatformContainer()
    container.rendezvous.environ.override(providers.Object({}))
    container.config.from_dict(
        {"rendezvous": {"backend": "platform", "conf": {"join_timeout": 60}}}
    )
    container.wire()
    yield container
    container.shutdown_resources()
    container.unwire()


def test_platform_backend_is_in_the_nested_selector_only(
    platform: TrainingPlatformContainer,
) -> None:
    assert "platform" in platform.rendezvous.backends.providers
    assert "platform" not in RendezvousContainer().backends.providers
    # the platform's other instances get their own copy of the nested container
    assert platform.rendezvous() is not TrainingPlatformContainer().rendezvous()


def test_creator_receives_platform_dependencies_and_handler_lifecycle_is_owned(
    platform: TrainingPlatformContainer,
) -> None:
    platform.config.from_dict({"cluster": "eu-1"})
    settings = platform.rendezvous.settings()
    handler = platform.rendezvous.handler()
    assert handler.get_backend() == "platform"
    assert handler.get_run_id() == f"eu-1.{settings.run_id}"  # from the platform's settings
    assert handler.inner.get_backend() == "c10d"  # torch's own c10d handler inside
    info = handler.next_rendezvous()
    assert (info.rank, info.world_size) == (0, 1)
    assert platform.directory().reports == [RoundReport(settings.run_id, "platform", 0, 1)]
    platform.shutdown_resources()
    assert handler.is_closed()


@pytest.mark.slow
def test_launcher_runs_a_real_two_worker_job_with_the_injected_handler(
    platform: TrainingPlatformContainer, tmp_path: Path
) -> None:
    launch(str(WORKER), [str(tmp_path)])  # handler and settings are injected

    reports = read_reports(tmp_path)
    assert [r["rank"] for r in reports] == [0, 1]
    assert {r["sum"] for r in reports} == {expected_sum(2)}
    assert {r["run_id"] for r in reports} == {platform.rendezvous.handler().get_run_id()}
    (round_report,) = platform.directory().reports
    assert (round_report.backend, round_report.world_size) == ("platform", 1)
    handler = platform.rendezvous.handler()
    platform.shutdown_resources()  # the platform, not the agent, ends the rendezvous
    assert handler.is_closed()


def test_overriding_the_platform_backend_reaches_the_injected_handler(
    platform: TrainingPlatformContainer, tmp_path: Path
) -> None:
    from rendezvous_di.testing import FakeRendezvousHandler

    fake = FakeRendezvousHandler(backend="platform")
    with platform.rendezvous.backends.providers["platform"].override(providers.Object(fake)):
        assert platform.rendezvous.handler() is fake
    platform.shutdown_resources()
    assert fake.is_shut_down


def test_patching_the_nested_container_fails_with_advice(
    platform: TrainingPlatformContainer,
) -> None:
    from unittest import mock

    from rendezvous_di import ProviderPatchError

    with (
        pytest.raises(ProviderPatchError, match=r"backends\.providers\['platform'\]\.override"),
        mock.patch.object(platform.rendezvous(), "platform", object()),
    ):
        pass  # pragma: no cover - the patch is refused on entry


def test_cli_lists_the_platform_backend_with_source_container() -> None:
    result = run_cli(["backends", "--json", "--container", PLATFORM])
    assert result.returncode == 0, result.stderr
    by_name = {b["name"]: b for b in json.loads(result.stdout)}
    assert by_name["platform"]["source"] == "container"
    assert by_name["c10d"]["source"] == "builtin"

    shown = run_cli(["config", "--json", "--container", PLATFORM, "--rdzv-backend", "platform"])
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["values"]["backend"] == "platform"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("containers.platform", "expected MODULE:NAME"),
        ("containers.nowhere:X", "cannot import 'containers.nowhere'"),
        ("containers.platform:Missing", "has no attribute 'Missing'"),
        ("containers.platform.services:PlatformSettings", "neither a RendezvousContainer"),
    ],
)
def test_cli_names_a_bad_container_spec(spec: str, message: str) -> None:
    result = run_cli(["backends", "--container", spec])
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: --container")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_rendezvous_di_run_uses_the_platform_container(tmp_path: Path) -> None:
    result = run_cli(
        [
            "run",
            "--container",
            PLATFORM,
            "--rdzv-backend",
            "platform",
            "--nproc-per-node",
            "2",
            "--verbose",
            str(WORKER),
            str(tmp_path),
        ],
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "PlatformHandler for 'platform'" in result.stderr
    assert {r["sum"] for r in read_reports(tmp_path)} == {expected_sum(2)}


def test_add_backend_refuses_what_would_surprise() -> None:
    container = RendezvousContainer()
    with pytest.raises(TypeError, match="every RendezvousContainer"):
        add_backend(RendezvousContainer, "x", providers.Object(None))
    with pytest.raises(ConfigError, match=r"'c10d' is a built-in.*valid choices: c10d, etcd"):
        add_backend(container, "c10d", providers.Object(None))
    with pytest.raises(TypeError, match="expected a provider"):
        add_backend(container, "x", object())  # type: ignore[arg-type]
    add_backend(container, "mine", providers.Object(None))
    assert list(container.backends.providers)[-1] == "mine"
    assert "mine" not in RendezvousContainer().backends.providers


def test_a_subclass_by_file_path_lists_its_backend(tmp_path: Path) -> None:
    spec = f"{REPO / 'tests' / 'platform' / 'own_container.py'}:Own"
    result = run_cli(["backends", "--json", "--container", spec], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = {b["name"]: b["source"] for b in json.loads(result.stdout)}
    assert names["own"] == "container"
