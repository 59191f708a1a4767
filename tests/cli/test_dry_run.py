"""`rendezvous-di run --dry-run`: every check `run` makes, then the equivalent torchrun command.

The printed command and the printed PET_* lines are run for real (through torch's own
torchrun, and through `rendezvous-di run` with only those variables): they must form the
same 2-worker job. The dry run itself starts nothing: the port stays free, no worker
writes its report, torch is never imported.
"""

from __future__ import annotations

import argparse
import shlex
import socket
import sys
from pathlib import Path

import pytest

from rendezvous_di.cli import main as cli_main
from rendezvous_di.config.torchrun_args import (
    FLAG_OPTIONS,
    NO_ENV_TWIN,
    NOT_IN_EVERY_TORCH,
    VALUE_OPTIONS,
)
from tests.support.jobs import WORKER, read_reports
from tests.support.procs import REPO, free_port, run_cli, run_process

TORCHRUN = str(Path(sys.executable).with_name("torchrun"))


def dry_run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(["run", "--dry-run", *args])
    out, err = capsys.readouterr()
    return code, out, err


class Printed:
    """The dry run's output split into its two forms."""

    def __init__(self, out: str) -> None:
        lines = [line for line in out.splitlines() if not line.startswith("#")]
        self.notes = [line[2:] for line in out.splitlines() if line.startswith("# ")]
        self.command = shlex.split(lines[0])
        self.environ = dict(line.split("=", 1) for line in lines[1:-1])
        self.environ = {k: shlex.split(v)[0] if v else "" for k, v in self.environ.items()}
        self.env_command = shlex.split(lines[-1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_prints_the_torchrun_command_and_starts_nothing(tmp_path: Path) -> None:
    port = free_port()
    code = (
        "import sys\n"
        "from rendezvous_di.cli import main\n"
        f"code = main(['run', '--dry-run', '--rdzv-backend', 'c10d', '--rdzv-endpoint',\n"
        f"    '127.0.0.1:{port}', '--rdzv-conf', 'is_host=true', '--nproc-per-node', '2',\n"
        f"    {str(WORKER)!r}, {str(tmp_path)!r}])\n"
        "assert code == 0, code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = run_process([sys.executable, "-c", code], timeout=60)
    assert done.returncode == 0, done.stderr
    printed = Printed(done.stdout)
    assert printed.command[:1] == ["torchrun"]
    assert ["--rdzv-endpoint", f"127.0.0.1:{port}"] == printed.command[3:5]
    assert port_is_free(port)  # is_host=true: a real run would hold it at once
    assert list(tmp_path.iterdir()) == []  # no worker ran
    assert "rendezvous-di: backend=" not in done.stderr


def test_every_flag_given_is_in_the_command_shell_quoted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script_args = ["--name", "it's a test", "$HOME", "a;b"]
    code, out, _ = dry_run(
        [
            "--rdzv-backend=c10d",
            "--rdzv-endpoint=127.0.0.1:29555",
            "--rdzv-id=job-7",
            "--rdzv-conf=join_timeout=60,last_call_timeout=1",
            "--nnodes=1:3",
            "--local-addr=127.0.0.1",
            "--nproc-per-node=2",
            "--max-restarts=3",
            "--monitor-interval=0.5",
            "--log-dir=/tmp/some logs",
            "--role=trainer",
            "--no-python",
            "--numa-binding=node",
            "echo",
            *script_args,
        ],
        capsys,
    )
    assert code == 0
    printed = Printed(out)
    assert printed.command == [
        "torchrun",
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        "127.0.0.1:29555",
        "--rdzv-id",
        "job-7",
        "--nnodes",
        "1:3",
        "--rdzv-conf",
        "join_timeout=60,last_call_timeout=1",
        "--local-addr",
        "127.0.0.1",
        "--nproc-per-node",
        "2",
        "--max-restarts",
        "3",
        "--monitor-interval",
        "0.5",
        "--role",
        "trainer",
        "--log-dir",
        "/tmp/some logs",
        "--numa-binding",
        "node",
        "--no-python",
        "echo",
        *script_args,
    ]
    assert printed.environ == {
        "PET_RDZV_BACKEND": "c10d",
        "PET_RDZV_ENDPOINT": "127.0.0.1:29555",
        "PET_RDZV_ID": "job-7",
        "PET_NNODES": "1:3",
        "PET_RDZV_CONF": "join_timeout=60,last_call_timeout=1",
        "PET_LOCAL_ADDR": "127.0.0.1",
        "PET_NPROC_PER_NODE": "2",
        "PET_MAX_RESTARTS": "3",
        "PET_MONITOR_INTERVAL": "0.5",
        "PET_ROLE": "trainer",
        "PET_LOG_DIR": "/tmp/some logs",
        "PET_NO_PYTHON": "1",
    }
    # --numa-binding has no PET_* twin in torch: it stays on the command line
    assert printed.env_command == ["torchrun", "--numa-binding", "node", "echo", *script_args]


def test_launcher_values_from_pet_variables_count_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PET_NPROC_PER_NODE", "4")
    monkeypatch.setenv("PET_MODULE", "1")
    monkeypatch.setenv("PET_RDZV_ID", "from-env")
    code, out, _ = dry_run(["pkg.train"], capsys)
    assert code == 0
    printed = Printed(out)
    assert "--nproc-per-node" in printed.command
    assert "--module" in printed.command
    assert printed.environ["PET_NPROC_PER_NODE"] == "4"
    assert printed.environ["PET_MODULE"] == "1"
    assert printed.environ["PET_RDZV_ID"] == "from-env"


def test_standalone_stays_standalone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dry_run(["--standalone", "--nproc-per-node", "2", "train.py"], capsys)
    assert code == 0
    printed = Printed(out)
    assert printed.command == [
        "torchrun",
        "--standalone",
        "--nnodes",
        "1",
        "--nproc-per-node",
        "2",
        "train.py",
    ]
    assert printed.environ["PET_STANDALONE"] == "1"
    assert "PET_RDZV_ID" not in printed.environ


def test_a_fresh_run_id_is_not_frozen(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dry_run(["train.py"], capsys)
    assert code == 0
    printed = Printed(out)
    assert "--rdzv-id" not in printed.command
    assert any(note.startswith("no --rdzv-id: rendezvous-di gives") for note in printed.notes)


def test_static_takes_its_rank_from_node_rank(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--nnodes", "2", "--node-rank", "1", "--master-addr", "head", "train.py"]
    code, out, _ = dry_run(args, capsys)
    assert code == 0
    printed = Printed(out)
    assert printed.command[:9] == [
        "torchrun",
        "--rdzv-backend",
        "static",
        "--rdzv-endpoint",
        "head:29500",
        "--rdzv-id",
        "none",
        "--nnodes",
        "2",
    ]
    assert printed.command[9:11] == ["--node-rank", "1"]
    assert "--rdzv-conf" not in printed.command  # torchrun overwrites conf's rank with it
    assert printed.environ["PET_NODE_RANK"] == "1"


def test_a_password_is_masked_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "--rdzv-backend=etcd-v3",
        "--rdzv-endpoint=127.0.0.1:2379",
        "--rdzv-id=j",
        "--rdzv-conf=username=u,password=hunter2",
        "train.py",
    ]
    code, out, _ = dry_run(args, capsys)
    assert code == 0
    assert "hunter2" not in out
    printed = Printed(out)
    assert printed.environ["PET_RDZV_CONF"] == "username=u,password=***"
    assert any("password is masked" in note for note in printed.notes)
    # our etcd-v3 is a plugin: plain torchrun needs this distribution installed
    assert any(
        "'etcd-v3' is a torchrun.handlers plugin of 'rendezvous-di'" in n for n in printed.notes
    )

    code, out, _ = dry_run(["--show-secrets", *args], capsys)
    assert code == 0
    assert Printed(out).environ["PET_RDZV_CONF"] == "username=u,password=hunter2"


def test_a_container_backend_says_plain_torchrun_cannot_create_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = "containers.platform:TrainingPlatformContainer"
    code, out, _ = dry_run(["--container", spec, "--rdzv-backend", "platform", "t.py"], capsys)
    assert code == 0
    notes = Printed(out).notes
    assert any(
        "'platform' is declared in the container" in n and f"--container {spec}" in n for n in notes
    )


def test_the_plugins_policy_is_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "rdzv.yaml"
    config.write_text("plugins:\n  autoload: false\n  deny: [bad]\n")
    code, out, _ = dry_run(["--config", str(config), "t.py"], capsys)
    assert code == 0
    printed = Printed(out)
    assert any(n.startswith("plugins.deny: bad has no torchrun flag") for n in printed.notes)
    assert printed.environ["RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD"] == "1"


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["--nproc-per-node", "0", "t.py"], {}, "nproc_per_node"),
        (["--rdzv-backend", "c10x", "t.py"], {}, "did you mean 'c10d'"),
        ([], {}, "the following arguments are required"),
        (["t.py"], {"PET_MAX_RESTARTS": "-1"}, "max_restarts (from env PET_MAX_RESTARTS)"),
        (["-m", "--no-python", "t.py"], {}, "--module runs the script"),
        (["--rdzv-conf", "join_timeout=soon", "t.py"], {}, "conf.join_timeout"),
        (
            ["--rdzv-conf", "store_type=file", "--rdzv-endpoint", "/nowhere/x/s", "t.py"],
            {},
            "does not exist",
        ),
        (["--config-key", "rendezvous", "t.py"], {}, "config_key"),
        (["--max-restarts", "x", "t.py"], {}, "--max-restarts"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(
    args: list[str], env: dict[str, str], fragment: str
) -> None:
    done = run_cli(["run", "--dry-run", *args], env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: "), done.stderr
    assert fragment in first, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def mirrored_by_torch() -> set[str]:
    """The installed torch's option names."""
    from torch.distributed.run import get_args_parser

    return {o for a in get_args_parser()._actions for o in a.option_strings}


def test_the_torchrun_options_without_pet_twin_are_torchs() -> None:
    from torch.distributed.run import get_args_parser

    without = {
        next(o for o in a.option_strings if o.startswith("--"))
        for a in get_args_parser()._actions
        if a.option_strings
        and not isinstance(a, argparse._HelpAction)
        and type(a).__name__ not in ("env", "check_env")
    }
    # What the installed torch has of them (each supported release has its own set).
    assert without == set(NO_ENV_TWIN) - (set(NOT_IN_EVERY_TORCH) - mirrored_by_torch())
    mirrored = {n for names in (*VALUE_OPTIONS, *FLAG_OPTIONS) for n in names}
    assert set(NO_ENV_TWIN) <= mirrored


def _reports_of_a_job(argv: list[str], out: Path, env: dict[str, str] | None = None) -> None:
    done = run_process(argv, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    reports = read_reports(out)
    assert [r["rank"] for r in reports] == [0, 1]
    assert {r["world_size"] for r in reports} == {2}
    assert {r["sum"] for r in reports} == {3}
    assert {r["run_id"] for r in reports} == {"dry-run-job"}


def _printed_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Printed, Path]:
    out = tmp_path / "reports"
    out.mkdir()
    code, text, _ = dry_run(
        [
            "--rdzv-backend",
            "c10d",
            f"--rdzv-endpoint=127.0.0.1:{free_port()}",
            "--rdzv-id",
            "dry-run-job",
            "--rdzv-conf",
            "join_timeout=120,last_call_timeout=1",
            "--nproc-per-node",
            "2",
            "--max-restarts",
            "0",
            str(WORKER),
            str(out),
        ],
        capsys,
    )
    assert code == 0
    return Printed(text), out


@pytest.mark.slow
def test_the_printed_command_forms_the_same_job_with_torchs_torchrun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed, out = _printed_job(tmp_path, capsys)
    _reports_of_a_job([TORCHRUN, *printed.command[1:]], out)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["torchrun", "rendezvous-di run"])
def test_the_printed_pet_variables_form_the_same_job(
    launcher: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed, out = _printed_job(tmp_path, capsys)
    assert printed.env_command[0] == "torchrun"
    program = (
        [TORCHRUN] if launcher == "torchrun" else [sys.executable, "-m", "rendezvous_di", "run"]
    )
    _reports_of_a_job([*program, *printed.env_command[1:]], out, env=printed.environ)


def test_the_repository_example_runs_in_a_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    example = str(REPO / "examples" / "allreduce.py")
    code, out, _ = dry_run(["--profile", "c10d", "--nproc-per-node", "2", example], capsys)
    assert code == 0
    assert Printed(out).command[-1] == example
