"""`rendezvous-di config --format yaml|json|env`.

yaml is a `--config` file: written out and read back, it gives the same effective values
(a fresh one-node run id stays fresh). env is torchrun's PET_* lines: given as the only
environment, they give the same effective values too, for what PET_* can express.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from rendezvous_di.cli import main as cli_main
from tests.support.procs import run_process

FRESH = re.compile(r"[0-9a-f]{32}")


def config(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(["config", *args])
    out, err = capsys.readouterr()
    return code, out, err


def effective(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = config(["--format", "json", *args], capsys)
    assert code == 0, err
    values: dict[str, Any] = json.loads(out)["values"]
    return values


SETUPS = {
    "defaults": [],
    "run_id": ["--rdzv-id", "job-42"],
    "static multi-node": ["--nnodes", "2", "--node-rank", "1", "--master-addr", "head"],
    "static master port on one node": ["--master-port", "29511"],
    "c10d range": [
        "--rdzv-backend=c10d",
        "--rdzv-endpoint=10.0.0.5:29400",
        "--nnodes=1:4",
        "--rdzv-conf=join_timeout=60,read_timeout=30,is_host=false",
        "--local-addr=10.0.0.7",
    ],
    "etcd-v2 with conf": [
        "--rdzv-backend=etcd-v2",
        "--rdzv-endpoint=127.0.0.1:2379",
        "--rdzv-id=e",
        "--nnodes=2:3",
        "--rdzv-conf=protocol=http,read_timeout=45,last_call_timeout=5",
    ],
    "etcd-v3 with conf": [
        "--rdzv-backend=etcd-v3",
        "--rdzv-endpoint=127.0.0.1:2379",
        "--rdzv-id=v3",
        "--rdzv-conf=username=u,key_prefix=/jobs,lease_ttl=30",
    ],
    "standalone": ["--standalone"],
    "profile": ["--profile", "c10d"],
}
FRESH_ID_SETUPS = ("defaults", "standalone", "static master port on one node")
"""One node and no run id given: each run gets a fresh id."""


def write_plugins_file(tmp_path: Path) -> list[str]:
    path = tmp_path / "plugins.yaml"
    path.write_text(
        "backend: c10d\nrun_id: p\nplugins:\n  autoload: false\n  allow: [good, rdzv-x]\n"
        "  deny: bad\n  override_builtins: [etcd]\n"
    )
    return ["--config", str(path)]


def round_trip(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], dict[str, Any], str]:
    before = effective(args, capsys)
    code, text, err = config(["--format", "yaml", *args], capsys)
    assert code == 0, err
    saved = tmp_path / "saved.yaml"
    saved.write_text(text)
    after = effective(["--config", str(saved)], capsys)
    return before, after, text


@pytest.mark.parametrize("name", sorted(SETUPS))
def test_yaml_reads_back_as_the_same_effective_values(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, after, text = round_trip(SETUPS[name], tmp_path, capsys)
    if name in FRESH_ID_SETUPS:  # a fresh id per run: never frozen
        assert FRESH.fullmatch(before["run_id"])
        assert FRESH.fullmatch(after["run_id"])
        assert before.pop("run_id") != after.pop("run_id")
        assert "run_id:" not in text.replace("# run_id", "")
    assert after == before


def test_yaml_keeps_the_plugins_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, after, _text = round_trip(write_plugins_file(tmp_path), tmp_path, capsys)
    assert after == before
    assert before["plugins"] == {
        "autoload": False,
        "allow": ["good", "rdzv-x"],
        "deny": ["bad"],
        "override_builtins": ["etcd"],
    }


def test_yaml_of_a_range_is_text_not_sexagesimal(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = config(["--format", "yaml", "--nnodes", "1:4", "--rdzv-id", "r"], capsys)
    assert code == 0
    assert "nnodes: '1:4'" in text  # unquoted, YAML 1.1 readers take 1:4 for 64


def test_yaml_leaves_a_password_out_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--rdzv-backend=etcd-v3", "--rdzv-id=v", "--rdzv-conf=username=u,password=hunter2"]
    code, text, _ = config(["--format", "yaml", *args], capsys)
    assert code == 0
    assert "hunter2" not in text
    assert "conf.password is left out" in text
    before, after, text = round_trip(["--show-secrets", *args], tmp_path, capsys)
    assert "hunter2" in text
    assert after == before


def test_a_value_a_file_would_expand_is_refused_not_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = config(["--format", "yaml", "--rdzv-id", "${HOME}"], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: run_id: holds '${'")
    assert len(err.splitlines()) == 1


def test_json_is_the_json_flag(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--rdzv-id", "j", "--nnodes", "2", "--master-addr", "h"]
    code, by_format, _ = config(["--format", "json", *args], capsys)
    assert code == 0
    code, by_flag, _ = config(["--json", *args], capsys)
    assert code == 0
    assert json.loads(by_format) == json.loads(by_flag)
    assert set(json.loads(by_flag)) == {"values", "sources"}


def test_yaml_and_env_import_no_torch() -> None:
    code = (
        "import sys\n"
        "from rendezvous_di.cli import main\n"
        "for form in ('yaml', 'env'):\n"
        "    args = ['config', '--format', form, '--nnodes', '2', '--master-addr', 'h']\n"
        "    assert main(args) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = run_process([sys.executable, "-c", code], timeout=60)
    assert done.returncode == 0, done.stderr
    assert "PET_NODE_RANK" not in done.stdout  # no --node-rank given: torchrun's 0 is implied
    assert "PET_RDZV_BACKEND=static" in done.stdout


def parse_env(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {k: shlex.split(v)[0] for k, v in (line.split("=", 1) for line in lines)}


ENV_SETUPS = {k: v for k, v in SETUPS.items() if k != "profile"}


@pytest.mark.parametrize("name", sorted(ENV_SETUPS))
def test_env_lines_as_the_only_environment_give_the_same_values(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ENV_SETUPS[name]
    before = effective(args, capsys)
    code, text, _ = config(["--format", "env", *args], capsys)
    assert code == 0
    variables = parse_env(text)
    assert all(k.startswith("PET_") for k in variables)
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    after = effective([], capsys)
    if name in FRESH_ID_SETUPS:
        assert "PET_RDZV_ID" not in variables
        assert before.pop("run_id") != after.pop("run_id")
    assert after == before


def test_env_says_what_pet_variables_cannot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text, _ = config(["--format", "env", *write_plugins_file(tmp_path)], capsys)
    assert code == 0
    assert parse_env(text)["RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any(line.startswith("# plugins.allow: good,rdzv-x has no torchrun") for line in comments)
    assert any(line.startswith("# plugins.deny: bad") for line in comments)


def test_env_masks_a_password(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--rdzv-backend=etcd-v3", "--rdzv-id=v", "--rdzv-conf=username=u,password=hunter2"]
    code, text, _ = config(["--format", "env", *args], capsys)
    assert code == 0
    assert "hunter2" not in text
    assert parse_env(text)["PET_RDZV_CONF"] == "username=u,password=***"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["--format", ""], "argument --format: invalid choice: ''"),
        (["--format"], "argument --format: expected one argument"),
        (["--format", "yaml", "--json"], "not allowed with argument --format"),
        (["--format", "YAML"], "invalid choice: 'YAML'"),
        (["--format", "yaml", "--rdzv-backend", "nope"], "unknown rendezvous backend 'nope'"),
    ],
)
def test_bad_formats_exit_2_with_one_error_line(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = config(args, capsys)
    assert code == 2
    assert out == ""
    first = err.splitlines()[0]
    assert first.startswith("error: "), err
    assert fragment in first, err
