"""Hostile input where plugins are concerned: declared options, policy names, many claimants.

Real installed distributions (tests/support/plugin_dists.py) in subprocesses,
each with a timeout; the error contract is the one of tests/cli/test_hostile_input.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.contract import refused
from tests.support.plugin_dists import install_claimants
from tests.support.procs import run_cli

TIMEOUT = 60
Env = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def claimants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 installed distributions, each declaring the backend ``foo``."""
    return install_claimants(tmp_path_factory.mktemp("claimants") / "site", "foo", 500)


def settings_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------- declared options


@pytest.mark.parametrize(
    ("conf", "field"),
    [
        ("rounds=1.5", "conf.rounds"),
        ("rounds=2.0", "conf.rounds"),
        ("rounds=nan", "conf.rounds"),
        ("rounds=" + "9" * 5000, "conf.rounds"),
        ("rounds=99999999999999999999", "conf.rounds"),
        ("ratio=nan", "conf.ratio"),
        ("ratio=inf", "conf.ratio"),
        ("ratio=-inf", "conf.ratio"),
        ("ratio=1e400", "conf.ratio"),
        ("ratio=" + "9" * 5000, "conf.ratio"),
    ],
)
def test_a_plugins_numeric_options_refuse_non_finite_huge_and_float_for_int(
    pythonpath: Env, conf: str, field: str
) -> None:
    flags = ["config", "--rdzv-backend", "tuned", "--rdzv-conf", conf]
    refused(run_cli(flags, env=pythonpath("rdzv-tuned"), timeout=TIMEOUT), field)


@pytest.mark.parametrize(
    ("value", "field"),
    [("1.5", "conf.rounds"), (".nan", "conf.ratio"), (".inf", "conf.ratio"), ("{1: 2}", "conf")],
)
def test_a_plugins_options_from_a_file(
    pythonpath: Env, tmp_path: Path, value: str, field: str
) -> None:
    option = field.partition(".")[2] or "rounds"
    text = (
        f"backend: tuned\nconf: {{{option}: {value}}}\n"
        if "{" not in value
        else (f"backend: tuned\nconf: {value}\n")
    )
    done = run_cli(
        ["config", "--config", settings_file(tmp_path, text)],
        env=pythonpath("rdzv-tuned"),
        timeout=TIMEOUT,
    )
    refused(done, field)


def test_a_plugins_options_from_a_variable(pythonpath: Env) -> None:
    env = pythonpath("rdzv-tuned", PET_RDZV_BACKEND="tuned", PET_RDZV_CONF="ratio=nan")
    refused(run_cli(["config"], env=env, timeout=TIMEOUT), "conf.ratio", "env PET_RDZV_CONF")


def test_a_declared_maximum_is_enforced() -> None:
    from rendezvous_di.backends.options import schema_from_declaration
    from rendezvous_di.errors import ConfigError

    schema = schema_from_declaration(
        "capped", {"size": {"type": "int", "default": 1, "help": "h", "maximum": 10}}
    )
    assert schema.validate({"size": "10"}) == {"size": 10}
    with pytest.raises(ConfigError, match="must be <= 10"):
        schema.validate({"size": "11"})


@pytest.mark.parametrize("bound", [float("nan"), float("inf"), "10", True])
def test_a_declared_bound_must_be_a_finite_number(bound: object) -> None:
    from rendezvous_di.backends.options import DeclarationError, schema_from_declaration

    with pytest.raises(DeclarationError, match="must be a finite number"):
        schema_from_declaration("capped", {"size": {"type": "int", "minimum": bound}})


# ---------------------------------------------------------------- policy names matching nothing


@pytest.mark.parametrize("command", ["config", "check"])
def test_an_allowed_name_that_matches_nothing_installed_is_warned_about(
    pythonpath: Env, tmp_path: Path, command: str
) -> None:
    path = settings_file(tmp_path, "plugins:\n  allow: [goood, rdzv-good]\n")
    done = run_cli([command, "--config", path], env=pythonpath("rdzv-good"), timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, done.stderr  # rdzv-good names the installed distribution
    assert "plugins.allow: 'goood' matches no installed plugin" in warnings[0]
    assert "installed: " in warnings[0]
    assert "good (rdzv-good)" in warnings[0]
    assert "did you mean 'good'?" in warnings[0]


@pytest.mark.parametrize("command", ["config", "check"])
def test_an_override_of_a_builtin_nobody_replaces_is_warned_about(
    pythonpath: Env, tmp_path: Path, command: str
) -> None:
    path = settings_file(tmp_path, "plugins:\n  override_builtins: [c10, etcd, c10d]\n")
    done = run_cli([command, "--config", path], env=pythonpath("rdzv-c10d"), timeout=TIMEOUT)
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, done.stderr  # c10d is claimed by rdzv-c10d: no warning
    assert "'c10' is not a built-in backend" in warnings[0]
    assert "did you mean 'c10d'?" in warnings[0]
    assert "'etcd' is claimed by no installed plugin" in warnings[1]
    assert "c10d (rdzv-c10d)" in warnings[1]


def test_names_that_match_give_no_warning(pythonpath: Env, tmp_path: Path) -> None:
    path = settings_file(tmp_path, "plugins:\n  allow: [good, rdzv_good]\n")
    done = run_cli(["config", "--config", path], env=pythonpath("rdzv-good"), timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr


def test_an_error_stays_the_first_line_when_there_are_warnings(
    pythonpath: Env, tmp_path: Path
) -> None:
    path = settings_file(tmp_path, "backend: nope\nplugins:\n  allow: [goood]\n")
    done = run_cli(["config", "--config", path], env=pythonpath("rdzv-good"), timeout=TIMEOUT)
    refused(done, "unknown rendezvous backend 'nope'")


def test_with_nothing_installed_the_warning_says_so(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "plugins:\n  allow: [good]\n")
    done = run_cli(["config", "--config", path], timeout=TIMEOUT)
    assert "warning: plugins.allow: 'good' matches no installed plugin" in done.stderr


def test_many_unmatched_names_stay_bounded(pythonpath: Env, tmp_path: Path) -> None:
    names = ", ".join(f"n{i}" for i in range(50))
    path = settings_file(tmp_path, f"plugins:\n  allow: [{names}]\n")
    done = run_cli(["config", "--config", path], env=pythonpath("rdzv-good"), timeout=TIMEOUT)
    assert all(len(line) < 400 for line in done.stderr.splitlines())


# ---------------------------------------------------------------- 500 claimants of one name


def test_listing_500_claimants_of_one_name_stays_a_few_lines(claimants: Path) -> None:
    env = {"PYTHONPATH": str(claimants)}
    done = run_cli(["backends"], env=env, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[:500]
    rows = [line for line in done.stdout.splitlines() if line.startswith("foo\t")]
    assert len(rows) == 4, rows[:6]
    assert "and 497 more distributions declare 'foo'" in rows[-1]
    assert len(done.stdout) < 10_000


def test_listing_500_claimants_as_json_stays_bounded(claimants: Path) -> None:
    done = run_cli(["backends", "--json"], env={"PYTHONPATH": str(claimants)}, timeout=TIMEOUT)
    rows = [row for row in json.loads(done.stdout) if row["name"] == "foo"]
    assert len(rows) == 4
    assert rows[-1]["summary"] == "and 497 more distributions declare 'foo'"
    assert all(len(row["reason"] or "") < 600 for row in rows)


@pytest.mark.parametrize("command", ["config", "check", "run"])
def test_selecting_a_name_500_distributions_claim_is_one_bounded_error(
    claimants: Path, command: str
) -> None:
    args = [command, "--rdzv-backend", "foo"] + (["x.py"] if command == "run" else [])
    done = run_cli(args, env={"PYTHONPATH": str(claimants)}, timeout=TIMEOUT)
    line = refused(done, "declared by 500 distributions", "'rdzv-claimant-0000'", "and 497 more")
    assert len(line) <= 1500


def test_showing_a_name_500_distributions_claim_stays_bounded(claimants: Path) -> None:
    done = run_cli(["backends", "foo"], env={"PYTHONPATH": str(claimants)}, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[:500]
    assert len(done.stdout) < 5000
    assert "and 497 more distributions declare 'foo'" in done.stdout


# ---------------------------------------------------------------- backends NAME


def test_backends_name_shows_one_builtin_in_full() -> None:
    done = run_cli(["backends", "c10d"], timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["backend:", "c10d"]
    assert any(line.startswith("description:") and "TCPStore" in line for line in lines)
    assert any(line.split() == ["origin:", "builtin"] for line in lines)
    assert any(line.startswith("join_timeout\tint\t600\t") for line in lines)
    assert not any(line.startswith("static") for line in lines)


def test_backends_name_as_json_is_that_backends_rows() -> None:
    done = run_cli(["backends", "static", "--json"], timeout=TIMEOUT)
    rows = json.loads(done.stdout)
    assert [row["name"] for row in rows] == ["static"]
    assert {o["name"] for o in rows[0]["options"]} == {"rank", "timeout"}


@pytest.mark.parametrize(
    ("name", "guess"), [("c10", "c10d"), ("etcd_v2", "etcd-v2"), ("statik", "static")]
)
def test_backends_with_an_unknown_name_is_a_usage_error_with_a_guess(name: str, guess: str) -> None:
    for extra in ([], ["--json"]):
        done = run_cli(["backends", name, *extra], timeout=TIMEOUT)
        refused(done, f"unknown rendezvous backend {name!r}", f"did you mean {guess!r}?")
        assert done.stdout == ""


def test_backends_with_a_huge_unknown_name_stays_one_bounded_line() -> None:
    refused(run_cli(["backends", "x" * 100_000], timeout=TIMEOUT), "(100000 characters)")


def test_backends_name_loads_only_that_plugin_to_list_its_options(pythonpath: Env) -> None:
    env = pythonpath("rdzv-tuned", "rdzv-boom")
    done = run_cli(["backends", "tuned"], env=env, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "origin:       plugin" in done.stdout
    assert "distribution: rdzv-tuned 1.1" in done.stdout
    assert "rounds\tint\t3\trounds to play" in done.stdout
    assert "boom" not in done.stdout + done.stderr  # the other plugin was not imported


def test_backends_name_of_a_broken_plugin_shows_why(pythonpath: Env) -> None:
    done = run_cli(["backends", "boom"], env=pythonpath("rdzv-boom"), timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "status:       failed" in done.stdout
    assert "boom on purpose" in done.stdout
