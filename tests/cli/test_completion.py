"""Shell completion, through the installed console script and through real bash.

The script is run the way argcomplete's shell code runs it (``_ARGCOMPLETE=1``,
``COMP_LINE``, ``COMP_POINT``, bash's ``COMP_WORDBREAKS``; the answer on fd 8 or
in ``_ARGCOMPLETE_STDOUT_FILENAME``), and the shell code that ``rendezvous-di
completion bash`` prints is sourced into ``bash --norc`` and called as bash
calls it; the zsh code is loaded into an interactive zsh on a pseudo-terminal
(``tests/support/zsh_complete.zsh``) and a Tab typed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rendezvous_di.cli import COMMANDS
from rendezvous_di.config.profiles import profile_names
from tests.support.procs import REPO, clean_environ, require, run_process

SCRIPT = Path(sys.executable).with_name("rendezvous-di")
BASH_WORDBREAKS = " \t\n\"'><=;|&(:"
"""bash's default COMP_WORDBREAKS: what the shell code hands argcomplete."""
SEPARATOR = "\013"  # argcomplete's IFS between completions

BUILTINS = ["c10d", "etcd", "etcd-v2", "etcd-v3", "static"]
ETCD_V3 = [
    "read_timeout",
    "protocol",
    "ca_cert",
    "ssl_cert",
    "ssl_cert_key",
    "username",
    "password",
    "key_prefix",
    "lease_ttl",
    "join_timeout",
    "last_call_timeout",
    "close_timeout",
    "heartbeat_timeout",
    "keep_alive_interval",
    "keep_alive_max_attempt",
    "sync",
    "heartbeats",
    "timeout",
]


def _script() -> Path:
    require(SCRIPT.exists(), f"the console script {SCRIPT} is installed (pip install -e .)")
    return SCRIPT


def complete(line: str, *, env: dict[str, str] | None = None, cwd: Path = REPO) -> list[str]:
    """What the console script answers for ``line`` with the cursor at its end."""
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"rdzv-complete-{os.getpid()}.out"
    protocol = {
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": "bash",
        "_ARGCOMPLETE_SUPPRESS_SPACE": "1",
        "_ARGCOMPLETE_COMP_WORDBREAKS": BASH_WORDBREAKS,
        "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
        "COMP_LINE": line,
        "COMP_POINT": str(len(line.encode())),
        "COMP_TYPE": "9",
    }
    try:
        done = run_process([str(_script())], env={**(env or {}), **protocol}, cwd=cwd)
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""  # the answer goes to the file, nothing to the terminal
        text = out.read_text()
    finally:
        out.unlink(missing_ok=True)
    return [item for item in text.split(SEPARATOR) if item]


def test_subcommands() -> None:
    assert complete("rendezvous-di ") == [command.NAME for command in COMMANDS]
    assert complete("rendezvous-di c") == ["config", "check", "checks", "completion"]
    assert complete("rendezvous-di --debug sch") == ["schema"]


def test_flags_of_every_command_and_torchrun_s_of_run() -> None:
    flags = complete("rendezvous-di config --rdzv-")
    assert {"--rdzv-backend", "--rdzv-conf", "--rdzv-endpoint", "--rdzv-id"} <= set(flags)
    assert complete("rendezvous-di schema --out") == ["--output"]
    # run is parsed by torch's parser; completion knows torchrun's flags without torch.
    assert complete("rendezvous-di run --nproc") == ["--nproc-per-node", "--nproc_per_node"]
    assert {"--max-restarts", "--standalone", "--config", "--profile", "--verbose"} <= set(
        complete("rendezvous-di run --")
    )


def test_backend_names() -> None:
    assert complete("rendezvous-di config --rdzv-backend ") == BUILTINS
    assert complete("rendezvous-di run --rdzv-backend etcd-") == ["etcd-v2", "etcd-v3"]
    assert complete("rendezvous-di backends etc") == ["etcd", "etcd-v2", "etcd-v3"]
    # --flag=value: bash breaks the word at "=", so the answer is what follows it.
    assert complete("rendezvous-di check --rdzv-backend=st") == ["static"]


def test_a_denied_plugin_is_not_offered(tmp_path: Path) -> None:
    config = tmp_path / "deny.yaml"
    config.write_text("plugins:\n  deny: [etcd-v3]\n")
    names = complete(f"rendezvous-di config --config {config} --rdzv-backend ")
    assert names == [n for n in BUILTINS if n != "etcd-v3"]


def test_conf_keys_of_the_typed_backend() -> None:
    line = "rendezvous-di run --rdzv-backend etcd-v3 --rdzv-conf "
    assert complete(line) == [f"{key}=" for key in ETCD_V3]
    # After a comma, keys not given yet; bash's word starts after the last "=".
    assert complete(line + "join_timeout=60,l") == ["60,lease_ttl=", "60,last_call_timeout="]
    assert complete(line + "protocol=") == ["http", "https"]
    assert complete("rendezvous-di config --rdzv-conf store_type=f") == ["file"]
    assert complete("rendezvous-di config --rdzv-conf is_host=") == ["true", "false"]


def test_conf_keys_of_the_backend_the_settings_choose(tmp_path: Path) -> None:
    static = REPO / "containers" / "static.yaml"
    assert complete(f"rendezvous-di run --config {static} --rdzv-conf ") == ["rank=", "timeout="]
    assert complete("rendezvous-di run --profile static --rdzv-conf ") == ["rank=", "timeout="]
    assert complete("rendezvous-di config --rdzv-conf ti", env={"PET_RDZV_BACKEND": "etcd"}) == [
        "timeout="
    ]
    platform = tmp_path / "platform.yaml"
    platform.write_text("cluster: a\nplatform:\n  rendezvous:\n    backend: static\n")
    line = f"rendezvous-di config --config {platform} --config-key platform.rendezvous --rdzv-conf "
    assert complete(line) == ["rank=", "timeout="]
    # No backend, several nodes: torchrun's static, as the settings resolve it.
    assert complete("rendezvous-di run --nnodes 2 --rdzv-conf ") == ["rank=", "timeout="]
    assert "join_timeout=" in complete("rendezvous-di run --nnodes 1 --rdzv-conf ")


def test_profiles_and_shells() -> None:
    assert complete("rendezvous-di run --profile ") == profile_names()
    assert complete("rendezvous-di config --profile etcd") == [
        n for n in profile_names() if n.startswith("etcd")
    ]
    assert complete("rendezvous-di completion ") == ["bash", "zsh"]


def test_completion_needs_no_torch(tmp_path: Path) -> None:
    """With a torch that cannot be imported, everything still completes (run's flags too)."""
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('torch must not be imported')\n")
    env = {"PYTHONPATH": str(tmp_path)}
    assert "--nproc-per-node" in complete("rendezvous-di run --npr", env=env)
    assert complete("rendezvous-di run --rdzv-backend ", env=env) == BUILTINS
    line = "rendezvous-di run --rdzv-backend etcd-v3 --rdzv-conf lease"
    assert complete(line, env=env) == ["lease_ttl="]


def test_the_answer_on_fd_8(tmp_path: Path) -> None:
    """argcomplete's default channel: fd 8, which the shell code points at its capture."""
    out = tmp_path / "fd8"
    with out.open("w") as channel:
        fd = channel.fileno()
        done = subprocess.run(
            [str(_script())],
            env=clean_environ(
                {
                    "_ARGCOMPLETE": "1",
                    "_ARGCOMPLETE_SHELL": "bash",
                    "COMP_LINE": "rendezvous-di sch",
                    "COMP_POINT": "17",
                }
            ),
            pass_fds=(fd, 8),  # 8 is kept open past preexec_fn
            preexec_fn=lambda: os.dup2(fd, 8),  # the child only dups one fd
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert out.read_text().split(SEPARATOR) == ["schema "]


def bash_complete(words: list[str]) -> list[str]:
    """COMPREPLY after bash calls the function ``completion bash`` registered, on ``words``."""
    require(Path("/bin/bash").exists() or Path("/usr/bin/bash").exists(), "bash is installed")
    line = " ".join(words)
    program = "\n".join(
        [
            "source <(rendezvous-di completion bash) || exit 3",
            "complete -p rendezvous-di >/dev/null || exit 4",
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})",
            f"COMP_CWORD={len(words) - 1}",
            f"COMP_LINE={shlex.quote(line)}",
            "COMP_POINT=${#COMP_LINE}",
            "COMP_TYPE=9",
            '_python_argcomplete rendezvous-di "${COMP_WORDS[COMP_CWORD]}" '
            '"${COMP_WORDS[COMP_CWORD-1]}"',
            'printf "%s\\n" "${COMPREPLY[@]}"',
        ]
    )
    path = f"{_script().parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = run_process(["bash", "--norc", "--noprofile", "-c", program], env={"PATH": path})
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_real_bash_completes_subcommands_flags_backends_and_conf_keys() -> None:
    assert bash_complete(["rendezvous-di", "sch"]) == ["schema "]
    # One answer gets the space that ends the word; several are offered as they are.
    assert set(bash_complete(["rendezvous-di", ""])) == {c.NAME for c in COMMANDS}
    assert bash_complete(["rendezvous-di", "run", "--nproc-per"]) == ["--nproc-per-node "]
    assert bash_complete(["rendezvous-di", "run", "--rdzv-backend", "etcd-v"]) == [
        "etcd-v2",
        "etcd-v3",
    ]
    assert bash_complete(["rendezvous-di", "run", "--rdzv-backend", "etcd-v3"]) == ["etcd-v3 "]
    conf = bash_complete(["rendezvous-di", "run", "--rdzv-backend", "static", "--rdzv-conf", ""])
    assert conf == ["rank=", "timeout="]
    static = ["rendezvous-di", "run", "--rdzv-backend", "static", "--rdzv-conf"]
    assert bash_complete([*static, "ra"]) == ["rank="]  # no space after "=": a value follows
    etcd_v3 = ["rendezvous-di", "run", "--rdzv-backend", "etcd-v3", "--rdzv-conf"]
    assert bash_complete([*etcd_v3, "protocol=ht"]) == ["http", "https"]
    assert bash_complete([*etcd_v3, "protocol=https,lease_t"]) == ["https,lease_ttl="]


def zsh_complete(line: str) -> list[str]:
    """What zsh's completion system offers after ``line`` and a Tab, in order, once each."""
    require(shutil.which("zsh") is not None, "zsh is installed (scripts/setup.sh installs it)")
    capture = REPO / "tests" / "support" / "zsh_complete.zsh"
    path = f"{_script().parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = run_process(["zsh", "-f", str(capture), line], env={"PATH": path}, timeout=120)
    assert done.returncode == 0, done.stderr
    return list(dict.fromkeys(item for item in done.stdout.splitlines() if item))


def test_real_zsh_completes_subcommands_flags_backends_and_conf_keys() -> None:
    assert zsh_complete("rendezvous-di c") == ["config", "check", "checks", "completion"]
    assert zsh_complete("rendezvous-di run --nproc") == ["--nproc-per-node", "--nproc_per_node"]
    assert zsh_complete("rendezvous-di run --rdzv-backend etcd-") == ["etcd-v2", "etcd-v3"]
    line = "rendezvous-di run --rdzv-backend etcd-v3 --rdzv-conf lea"
    assert zsh_complete(line) == ["lease_ttl="]
    assert zsh_complete("rendezvous-di run --profile static --rdzv-conf ") == ["rank=", "timeout="]


def test_completion_command_prints_shell_code() -> None:
    for shell in ("bash", "zsh"):
        done = run_process([str(_script()), "completion", shell])
        assert done.returncode == 0, done.stderr
        assert "_python_argcomplete" in done.stdout
        assert "rendezvous-di" in done.stdout
    assert "compdef" in run_process([str(_script()), "completion", "zsh"]).stdout


@pytest.mark.parametrize("args", [["completion"], ["completion", "fish"]])
def test_completion_command_refuses_bad_input(args: list[str]) -> None:
    done = run_process([str(_script()), *args])
    assert done.returncode == 2
    assert done.stderr.startswith("error:")
    assert "shell" in done.stderr.splitlines()[0]


def test_other_commands_never_import_argcomplete() -> None:
    for command in (["--help"], ["config"], ["schema"], ["backends", "--json"]):
        done = run_process([str(_script()), *command], env={"PYTHONPROFILEIMPORTTIME": "1"})
        assert done.returncode == 0, done.stderr
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
        assert "rendezvous_di.cli" in imported
        assert not {m for m in imported if m.startswith("argcomplete")}, command


def test_global_completion_finds_the_marker() -> None:
    """argcomplete's global completion (activate-global-python-argcomplete) completes only
    console scripts whose module carries PYTHON_ARGCOMPLETE_OK in its first 1024 bytes."""
    done = run_process([sys.executable, "-m", "argcomplete._check_console_script", str(_script())])
    assert done.returncode == 0, done.stderr


def test_scheduler_choices() -> None:
    """``--scheduler`` checks its value with the settings (argparse has no choices to offer)."""
    from rendezvous_di.cli.completers import schedulers

    assert schedulers(prefix="") == ["auto", "none", "slurm", "kubeflow"]
    assert schedulers(prefix="k") == ["kubeflow"]


def test_every_rendezvous_flag_has_its_completer() -> None:
    import argparse

    from rendezvous_di.cli import build_parser
    from rendezvous_di.cli.completers import backend_names, completion_parser, conf_keys

    parser = completion_parser(build_parser())
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in commands.choices.items():
        by_flag = {flag: a for a in command._actions for flag in a.option_strings}
        if "--rdzv-backend" in by_flag:
            assert by_flag["--rdzv-backend"].completer is backend_names, name  # type: ignore[attr-defined]
            assert by_flag["--rdzv-conf"].completer is conf_keys, name  # type: ignore[attr-defined]
    assert {"backends", "config", "check", "run"} <= {
        name
        for name, c in commands.choices.items()
        if any("--rdzv-conf" in a.option_strings for a in c._actions)
    }
