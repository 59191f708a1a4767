"""Every deployment profile in containers/ loads, validates and builds torch's parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dependency_injector import providers

from rendezvous_di import RendezvousContainer
from rendezvous_di.config.profiles import profile_names, profile_path
from tests.support.procs import REPO, run_cli

PROFILES = sorted((REPO / "containers").glob("*.yaml"))
KUBEFLOW_ENV = REPO / "containers" / "kubeflow.env"
EXPECTED_BACKEND = {
    "local": "c10d",
    "c10d": "c10d",
    "etcd": "etcd",
    "etcd-v2": "etcd-v2",
    "etcd-v3": "etcd-v3",
    "static": "static",
    "kubeflow": "c10d",
}


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines())
    return {k.strip(): v.strip() for k, v in (p for p in pairs if len(p) == 2)}


def container_for(profile: Path, environ: dict[str, str] | None = None) -> RendezvousContainer:
    container = RendezvousContainer()
    container.environ.override(providers.Object(environ or {}))
    container.config_file.override(str(profile))
    return container


def test_the_issue_s_profiles_all_exist() -> None:
    assert {p.stem for p in PROFILES} == set(EXPECTED_BACKEND)
    assert KUBEFLOW_ENV.is_file()


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_profile_loads_with_config_flag(profile: Path) -> None:
    relative = profile.relative_to(REPO)
    result = run_cli(["config", "--json", "--config", str(relative)])
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["values"]["backend"] == EXPECTED_BACKEND[profile.stem]
    conf_sources = {k: v for k, v in shown["sources"].items() if k.startswith("conf.")}
    assert conf_sources
    assert set(conf_sources.values()) == {f"file {relative}"}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_profile_builds_torch_parameters_with_converted_options(profile: Path) -> None:
    container = container_for(profile)
    settings = container.settings()
    params = container.parameters()
    assert params.backend == EXPECTED_BACKEND[profile.stem]
    assert (params.min_nodes, params.max_nodes) == (settings.min_nodes, settings.max_nodes)
    assert params.config == settings.conf
    assert all(not isinstance(v, str) or not v.isdigit() for v in params.config.values())


def test_profile_variables_are_expanded_from_the_environment() -> None:
    container = container_for(
        REPO / "containers" / "c10d.yaml", {"RDZV_HOST": "node0.cluster", "JOB_ID": "run-42"}
    )
    settings = container.settings()
    assert (settings.endpoint, settings.run_id) == ("node0.cluster:29400", "run-42")


def test_etcd_v3_profile_takes_a_list_of_etcd_members() -> None:
    environ = {"ETCD_ENDPOINTS": "etcd-0:2379,etcd-1:2379,etcd-2:2379", "JOB_ID": "run-7"}
    settings = container_for(REPO / "containers" / "etcd-v3.yaml", environ).settings()
    assert (settings.endpoint, settings.run_id) == ("etcd-0:2379,etcd-1:2379,etcd-2:2379", "run-7")
    assert settings.conf["lease_ttl"] == 60


def test_static_profile_takes_the_node_rank() -> None:
    container = container_for(REPO / "containers" / "static.yaml", {"NODE_RANK": "1"})
    assert container.parameters().config["rank"] == 1


def test_kubeflow_environment_wins_over_the_profile_and_says_so() -> None:
    environ = read_env_file(KUBEFLOW_ENV)
    settings = container_for(REPO / "containers" / "kubeflow.yaml", environ).settings()
    assert (settings.endpoint, settings.run_id) == ("resnet-worker-0:29400", "resnet")
    assert (settings.min_nodes, settings.max_nodes) == (2, 4)
    assert settings.source_of("endpoint") == "env PET_RDZV_ENDPOINT"
    assert settings.source_of("min_nodes") == "env PET_NNODES"
    assert settings.conf["join_timeout"] == 900
    assert settings.source_of("conf.join_timeout").endswith("containers/kubeflow.yaml")


def test_kubeflow_profile_through_the_cli() -> None:
    result = run_cli(
        ["config", "--json", "--config", "containers/kubeflow.yaml"],
        env=read_env_file(KUBEFLOW_ENV),
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["values"]["run_id"] == "resnet"
    assert shown["sources"]["run_id"] == "env PET_RDZV_ID"
    assert shown["sources"]["conf.join_timeout"] == "file containers/kubeflow.yaml"


def test_every_profile_in_containers_is_a_profile_name() -> None:
    # containers/ is the one copy: the package rendezvous_di.profiles is that directory.
    assert profile_names() == sorted(p.stem for p in PROFILES)
    assert all(profile_path(p.stem).read_bytes() == p.read_bytes() for p in PROFILES)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_profile_by_name_gives_the_values_of_the_file(profile: Path, tmp_path: Path) -> None:
    environ = {"PET_RDZV_ID": "same-run"}  # a profile without run_id gets a fresh one per run
    by_file = run_cli(["config", "--json", "--config", str(profile)], env=environ)
    # Any working directory: the name does not depend on a checkout being there.
    by_name = run_cli(["config", "--json", "--profile", profile.stem], env=environ, cwd=tmp_path)
    assert by_name.returncode == 0, by_name.stderr
    assert json.loads(by_name.stdout)["values"] == json.loads(by_file.stdout)["values"]


@pytest.mark.parametrize("command", ["config", "backends", "check"])
def test_unknown_profile_is_one_error_line_listing_the_profiles(command: str) -> None:
    result = run_cli([command, "--profile", "c10dd"])
    assert result.returncode == 2
    first, *_ = result.stderr.splitlines()
    assert first.startswith("error: argument --profile: unknown profile 'c10dd'")
    assert first.endswith("valid choices: " + ", ".join(sorted(p.stem for p in PROFILES)))
    assert "Traceback" not in result.stderr


def test_run_takes_a_profile_and_refuses_an_unknown_one() -> None:
    result = run_cli(["run", "--profile", "nope", "--nproc-per-node", "1", "x.py"])
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith("error: argument --profile: unknown profile")


def test_profile_and_config_together_are_refused() -> None:
    result = run_cli(["config", "--profile", "c10d", "--config", "containers/local.yaml"])
    assert result.returncode == 2
    assert result.stderr.startswith("error: argument --config: not allowed with argument --profile")
