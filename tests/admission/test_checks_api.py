"""Admission checks through the container: selection, add_check, overrides, bad input, no-op."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from dependency_injector import providers

from rendezvous_di import ConfigError, RendezvousContainer
from rendezvous_di.admission.builtin.network import judge, pairings
from rendezvous_di.admission.entries import add_check, remove_check
from rendezvous_di.admission.running import AdmissionRefused, run_node_checks
from rendezvous_di.config.admission import as_text, parse
from tests.support.procs import run_cli


def container(admission: Any = None) -> Any:
    made = RendezvousContainer(environ=providers.Object({}))
    made.config.from_dict({} if admission is None else {"admission": admission})
    return made


def quota(options: Mapping[str, Any], context: Mapping[str, Any]) -> Any:
    """a platform's quota check"""
    return True if options["gib"] <= 10 else f"quota of {options['gib']} GiB is not granted"


quota.admission_options = {"gib": {"type": int, "default": 1, "help": "GiB asked"}}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "value",
    [
        "disk,network,disk.min_free_mb=5",
        ["disk", {"network": None}, "disk.min_free_mb=5"],
        {"disk": {"min_free_mb": "5"}, "network": None},
    ],
)
def test_every_form_of_the_setting_selects_the_same(value: Any) -> None:
    assert parse(value) == {"disk": {"min_free_mb": "5"}, "network": {}}
    assert as_text(parse(value)) == "disk,disk.min_free_mb=5,network"


def test_selected_checks_come_in_order_with_options_converted() -> None:
    selected = container("network,disk.min_free_mb=5").admission()
    assert [(s.name, s.check.kind) for s in selected] == [("network", "group"), ("disk", "node")]
    assert selected[1].options["min_free_mb"] == 5.0
    assert selected[1].timeout == 60.0


def test_no_selection_means_no_check() -> None:
    assert container().admission() == ()
    assert container("").admission() == ()


def test_a_platform_adds_replaces_and_removes_checks() -> None:
    made = container("quota.gib=20")
    add_check(made, "quota", providers.Object(quota))
    (selected,) = made.admission()
    assert selected.check.origin == "container"
    with pytest.raises(AdmissionRefused, match="quota of 20 GiB is not granted"):
        run_node_checks([selected])
    with pytest.raises(ConfigError, match="'disk' is a built-in check"):
        add_check(made, "disk", providers.Object(quota))
    add_check(made, "disk", providers.Object(quota), replace=True)
    remove_check(made, "gpu")
    assert "gpu" not in made.checks.kwargs
    assert made.checks.kwargs["disk"]() is quota


def test_an_entry_is_overridden_through_the_dict() -> None:
    made = container("disk")
    with made.checks.kwargs["disk"].override(providers.Object(quota)):
        (selected,) = made.admission()
    assert selected.check.function is quota
    assert container("disk").admission()[0].check.origin == "built-in"  # undone


def test_the_shared_class_is_not_changed() -> None:
    with pytest.raises(TypeError, match="every RendezvousContainer"):
        add_check(RendezvousContainer, "quota", providers.Object(quota))


def test_a_raising_check_in_code_is_an_error_not_a_crash() -> None:
    def boom(options: Mapping[str, Any], context: Mapping[str, Any]) -> None:
        raise SystemExit(3)

    made = container("boom")
    add_check(made, "boom", providers.Object(boom))
    (result,) = run_node_checks(made.admission(), stop_at_failure=False)
    assert (result.status, result.reason) == ("error", "raised SystemExit: 3")


def test_gpu_is_skipped_with_a_reason_without_cuda() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible: the check runs for real")
    (result,) = run_node_checks(container("gpu").admission())
    assert result.status == "skipped"
    assert "CUDA" in result.reason


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--admission", "disk,netwrk"],
            "error: admission (from flag --admission): unknown admission check 'netwrk'; "
            "valid choices: disk, gpu, network; did you mean 'network'?",
        ),
        (
            ["--admission", "network.max_ratio=fast"],
            "error: admission.network.max_ratio (from flag --admission): 'fast' is not a number",
        ),
        (
            ["--admission", "disk.min_fre=1"],
            "error: admission.disk.min_fre (from flag --admission): check 'disk' has no option "
            "'min_fre'; valid choices: paths, min_free_mb, min_write_mb_s, write_mb, timeout; "
            "did you mean 'min_free_mb'?",
        ),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(args: list[str], line: str) -> None:
    done = run_cli(["run", "--dry-run", *args, "train.py"])
    assert done.returncode == 2
    assert done.stderr.splitlines() == [line]


def test_dry_run_and_config_show_the_selection() -> None:
    done = run_cli(["run", "--dry-run", "--admission", "disk.min_free_mb=5", "train.py"])
    assert done.returncode == 0, done.stderr
    assert "# admission check disk (node check, built-in): paths=, min_free_mb=5.0" in done.stdout
    env = run_cli(["config", "--format", "env"], env={"PET_ADMISSION": "gpu"})
    assert "PET_ADMISSION=gpu" in env.stdout


def test_judge_names_the_node_whose_links_all_lag() -> None:
    fast, slow = {"sent_mb_s": 1000.0, "rtt_ms": 0.1}, {"sent_mb_s": 50.0, "rtt_ms": 0.1}
    measured = {0: {1: fast, 2: slow}, 1: {0: fast, 2: slow}, 2: {0: slow, 1: slow}}
    options = {
        "max_ratio": 3,
        "max_latency_ratio": 10,
        "min_bandwidth_mb_s": 0,
        "max_latency_ms": 0,
    }
    verdict = judge(measured, options, ["a", "b", "c"])
    assert list(verdict["faulty"]) == [2]
    assert "node c (rank 2): best link 50.0 MiB/s" in verdict["faulty"][2]


@pytest.mark.parametrize("size", [2, 3, 4, 7, 8])
def test_pairings_are_disjoint_and_give_every_node_two_partners(size: int) -> None:
    partners: dict[int, set[int]] = {r: set() for r in range(size)}
    for pairs in pairings(size, 1):
        flat = [r for pair in pairs for r in pair]
        assert len(flat) == len(set(flat))
        for a, b in pairs:
            partners[a].add(b)
            partners[b].add(a)
    assert all(len(p) >= min(2, size - 1) for p in partners.values())


def test_a_job_without_checks_imports_nothing_of_them() -> None:
    from tests.core.test_import_budget import modules_after

    loaded = modules_after(
        "from rendezvous_di.run import prepare\nprepare(['--nnodes', '1', 'train.py'])\n"
    )
    admission = {m for m in loaded if m.startswith("rendezvous_di.admission")}
    assert admission == {"rendezvous_di.admission", "rendezvous_di.admission.entries"}


def test_config_yaml_gives_the_selection_back(tmp_path: Any) -> None:
    done = run_cli(["config", "--format", "yaml", "--admission", "network,disk.min_free_mb=5"])
    assert done.returncode == 0, done.stderr
    saved = tmp_path / "rdzv.yaml"
    saved.write_text(done.stdout)
    again = run_cli(["config", "--json", "--config", str(saved)])
    values = __import__("json").loads(again.stdout)["values"]
    assert values["admission"] == {"network": {}, "disk": {"min_free_mb": "5"}}  # as given


def test_checks_names_an_unknown_check_with_exit_2() -> None:
    done = run_cli(["checks", "dsk"])
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: check: 'dsk' is not an admission check; valid choices: disk, gpu, network; "
        "did you mean 'disk'?"
    ]
