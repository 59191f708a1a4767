"""`backends` and `config`: tables on a terminal, plain text in a pipe, JSON on request."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from rendezvous_di import __version__
from tests.support.procs import REPO, clean_environ, run_cli


def run_on_terminal(args: list[str]) -> str:
    """Run the CLI with its stdout on a pseudo-terminal and return what it printed."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "rendezvous_di", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=clean_environ(),
        cwd=REPO,
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_backends_json_lists_every_builtin_with_its_options() -> None:
    done = run_cli(["backends", "--json"])
    assert done.returncode == 0, done.stderr
    listing = {entry["name"]: entry for entry in json.loads(done.stdout)}
    # torch's four built-ins, and our own etcd-v3, a plugin of the rendezvous-di distribution
    assert sorted(listing) == ["c10d", "etcd", "etcd-v2", "etcd-v3", "static"]
    ours = listing["etcd-v3"]
    assert (ours["source"], ours["distribution"]) == ("plugin", "rendezvous-di")
    c10d = listing["c10d"]
    assert (c10d["source"], c10d["status"]) == ("builtin", "available")
    options = {o["name"]: o for o in c10d["options"]}
    assert options["heartbeat_timeout"]["default"] == 5
    assert options["store_type"]["type"] == "tcp|file"
    assert options["timeout"]["set_by_launcher"] is True
    static_rank = next(o for o in listing["static"]["options"] if o["name"] == "rank")
    assert static_rank["required"] is True


def test_backends_on_a_terminal_is_an_aligned_table() -> None:
    lines = run_on_terminal(["backends"]).splitlines()
    header = lines[0]
    assert header.split() == ["BACKEND", "SOURCE", "STATUS", "DISTRIBUTION", "DESCRIPTION"]
    source_column = header.index("SOURCE")
    for row in lines[1:6]:
        source = "plugin" if row.startswith("etcd-v3 ") else "builtin"
        assert row[source_column:].startswith(source), row


def test_backends_in_a_pipe_is_tab_separated() -> None:
    done = run_cli(["backends"])
    first = done.stdout.splitlines()[0]
    assert first.split("\t")[:3] == ["c10d", "builtin", "available"]


def test_config_json_gives_every_value_with_its_source(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("backend: etcd-v2\nconf: {join_timeout: 60}\n")
    done = run_cli(
        ["config", "--json", "--config", str(config), "--rdzv-conf", "last_call_timeout=2"],
        env={"PET_NNODES": "1:2", "PET_RDZV_ID": "job"},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["values"]["conf"] == {"join_timeout": 60, "last_call_timeout": 2}
    assert report["values"]["max_nodes"] == 2
    assert report["sources"]["backend"] == f"file {config}"
    assert report["sources"]["conf.join_timeout"] == f"file {config}"
    assert report["sources"]["conf.last_call_timeout"] == "flag --rdzv-conf"
    assert report["sources"]["max_nodes"] == "env PET_NNODES"
    assert report["sources"]["endpoint"] == "default"


def test_config_on_a_terminal_shows_setting_value_source() -> None:
    text = run_on_terminal(["config", "--rdzv-backend", "etcd-v2"])
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[1:]}
    assert text.splitlines()[0].split() == ["SETTING", "VALUE", "SOURCE"]
    assert rows["backend"] == ["etcd-v2", "flag", "--rdzv-backend"]
    assert rows["endpoint"] == ["localhost:2379", "default"]


def test_version_and_help() -> None:
    assert run_cli(["--version"]).stdout.strip() == f"rendezvous-di {__version__}"
    help_text = run_cli(["--help"]).stdout
    assert "examples:" in help_text
    assert "rendezvous-di run --standalone --nproc-per-node 2 train.py" in help_text
    run_help = run_cli(["run", "--help"]).stdout
    assert "--config FILE" in run_help
    assert "--nproc-per-node" in run_help  # torchrun's own flags, all of them


def test_python_dash_m_and_the_console_script_agree() -> None:
    script = Path(sys.executable).parent / "rendezvous-di"
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=True, env=clean_environ()
    )
    assert done.stdout == run_cli(["--version"]).stdout
