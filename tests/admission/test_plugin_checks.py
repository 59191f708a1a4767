"""Check plugins from real installed distributions, hostile ones included, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.check_dists import build_and_install
from tests.support.procs import REPO, run_cli


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_and_install(tmp_path_factory.mktemp("check-dists"))


def cli(site: Path, *args: str) -> tuple[int, str, str]:
    done = run_cli(list(args), env={"PYTHONPATH": f"{site}:{REPO}"})
    return done.returncode, done.stdout, done.stderr


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_checks_lists_plugins_with_their_options_and_failures(site: Path) -> None:
    code, out, err = cli(site, "checks", "--json")
    assert code == 0, err
    listed = {c["name"]: c for c in json.loads(out)}
    assert {"network", "disk", "gpu", "tidy", "raises", "hangs", "exits", "grouped"} <= set(listed)
    assert listed["tidy"]["origin"] == "plugin"
    assert listed["tidy"]["options"]["limit"]["type"] == "int"
    assert listed["grouped"]["kind"] == "group"
    assert listed["hangs"]["options"]["timeout"]["default"] == 2
    assert listed["broken"]["state"] == "failed"
    assert "ModuleNotFoundError" in listed["broken"]["reason"]
    assert listed["killer"]["state"] == "failed"  # os._exit at import: the listing goes on
    assert "its process exited with status 9" in listed["killer"]["reason"]


def test_a_passing_plugin_check_is_reported_with_its_numbers(site: Path) -> None:
    code, out, err = cli(site, "check", "--admission", "tidy,tidy.limit=3")
    assert code == 0, err
    assert "admission: tidy passed" in out
    assert "limit=3" in out


def test_a_failing_plugin_check_refuses_the_node(site: Path) -> None:
    code, _, err = cli(site, "check", "--admission", "tidy.limit=9")
    assert code == 1
    assert error_lines(err) == ["error: admission check 'tidy' failed: limit 9 is above 5"]


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("raises", "raised RuntimeError: the check broke on purpose"),
        ("hangs", "did not finish within its timeout of 2s"),
        ("exits", "its process exited with status 7 before answering"),
    ],
)
def test_a_hostile_plugin_check_is_contained(site: Path, name: str, said: str) -> None:
    code, _, err = cli(site, "check", "--admission", name)
    assert code == 1, err
    assert error_lines(err) == [f"error: admission check {name!r} could not run: {said}"]


@pytest.mark.parametrize(
    ("name", "said"), [("broken", "ModuleNotFoundError"), ("killer", "exited with status 9")]
)
def test_a_plugin_that_fails_to_load_is_bad_input(site: Path, name: str, said: str) -> None:
    code, _, err = cli(site, "run", "--dry-run", "--admission", name, "train.py")
    assert code == 2
    (line,) = error_lines(err)
    assert line.startswith(f"error: admission: check plugin {name!r} from distribution ")
    assert said in line


def test_a_bad_plugin_option_is_bad_input(site: Path) -> None:
    code, _, err = cli(site, "run", "--dry-run", "--admission", "tidy.limit=-1", "x.py")
    assert code == 2
    assert error_lines(err) == [
        "error: admission.tidy.limit (from flag --admission): must be >= 0, got -1"
    ]
