"""Every torchrun launcher flag is checked with torch's rules before anything starts.

torch checks most launcher flags late (``--monitor-interval -1`` asserts in its
agent, ``--redirects 9`` is a bare ValueError after its import); ``prepare``
refuses each of them, from the flag or its ``PET_*`` twin, torch-free. The
rules are compared with torch's own code where torch has one (its parser's
choices, ``Std.from_str``), so a new torch release that changes a rule fails
here instead of passing silently.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from rendezvous_di.config import launcher_flags
from rendezvous_di.config.flags import MAIN
from rendezvous_di.config.launcher_flags import FREE_TEXT, RULES, check_script_here
from rendezvous_di.config.torchrun import TORCHRUN_OPTIONS
from rendezvous_di.config.torchrun_args import VALUE_OPTIONS
from rendezvous_di.errors import ConfigError, LauncherFlagError
from rendezvous_di.run import prepare
from tests.support.contract import refused
from tests.support.procs import run_cli

SCRIPT = "train.py"

BAD = [
    # (flag, value, the class torch raises (ours is a subclass), a fragment of the message)
    ("--monitor-interval", "-1", AssertionError, "'-1': must be a number of seconds > 0"),
    ("--monitor-interval", "0", AssertionError, "> 0"),
    ("--monitor-interval", "nan", ValueError, "'nan'"),
    ("--monitor-interval", "inf", ValueError, "'inf'"),
    ("--monitor-interval", "1e12", ValueError, "at most 86400"),
    ("--monitor-interval", "soon", ValueError, "'soon'"),
    ("--redirects", "9", ValueError, "'9' is not 0, 1, 2 or 3"),
    ("--redirects", "0:4", ValueError, "'0:4'"),
    ("--tee", "12:1", ValueError, "'12:1'"),
    ("--tee", "1,", ValueError, "'1,'"),
    ("--local-ranks-filter", "abc", ValueError, "'abc'"),
    ("--local-ranks-filter", "0,,1", ValueError, "'' in '0,,1'"),
    ("--start-method", "thread", ValueError, "spawn, fork, forkserver"),
    ("--event-log-handler", "file", ValueError, "console, dynamic_rendezvous, null"),
    ("--numa-binding", "gpu", ValueError, "node, socket, exclusive, core-complex"),
    ("--logs-specs", "nope", ValueError, "torchrun.logs_specs"),
    ("--signals-to-handle", "SIGTERM,SIGFOO", ValueError, "'SIGFOO' is not a signal name"),
    ("--signals-to-handle", "SIG_DFL", ValueError, "'SIG_DFL'"),
    ("--shutdown-timeout", "-1", ValueError, "'-1': must be >= 0"),
    ("--max-restarts", "-1", AssertionError, "'-1': must be >= 0"),
    ("--nproc-per-node", "two", ValueError, "'two' is neither a whole number"),
    ("--nproc-per-node", "0", AssertionError, "'0': must be a whole number from 1"),
]


def env_name(flag: str) -> str:
    return "PET_" + flag[2:].replace("-", "_").upper()


@pytest.mark.parametrize(("flag", "value", "kind", "fragment"), BAD, ids=lambda v: str(v))
def test_a_bad_launcher_flag_is_refused_naming_flag_and_value(
    flag: str, value: str, kind: type[Exception], fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        prepare([f"{flag}={value}", SCRIPT], environ={})
    assert isinstance(caught.value, kind)
    assert f"(from flag {flag})" in str(caught.value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("flag", "value"),
    [(f, v) for f, v, _, _ in BAD if f not in ("--numa-binding", "--logs-specs")],
    ids=str,
)
def test_the_same_value_from_the_pet_variable_is_refused_naming_it(flag: str, value: str) -> None:
    # torch reads PET_X as the flag's default, which its parser never checks against its choices.
    with pytest.raises(ConfigError, match=f"from env {env_name(flag)}"):
        prepare([SCRIPT], environ={env_name(flag): value})


@pytest.mark.parametrize(
    "args",
    [
        ["--monitor-interval", "0.5", "--redirects", "3", "--tee", "0:1,1:2"],
        ["--local-ranks-filter", "0, 1", "--start-method", "fork", "--role", ""],
        ["--event-log-handler", "console", "--signals-to-handle", "SIGTERM, SIGUSR1"],
        ["--shutdown-timeout", "0", "--max-restarts", "0", "--numa-binding", "node"],
        ["--log-dir", os.devnull],  # torch's way to keep no logs
    ],
    ids=str,
)
def test_values_torch_accepts_pass(args: list[str]) -> None:
    assert prepare([*args, SCRIPT], environ={}) is not None


def test_every_torchrun_option_has_a_rule_or_is_free_text_or_a_rendezvous_setting() -> None:
    rendezvous = {option.flag for option in TORCHRUN_OPTIONS}
    long_names = {next(n for n in names if n.startswith("--")) for names in VALUE_OPTIONS}
    unruled = long_names - set(RULES) - set(FREE_TEXT) - rendezvous
    assert unruled == set(), "a torchrun flag no rule checks"
    assert set(RULES) <= long_names  # no rule for a flag that torchrun does not have


def test_the_choices_are_torchs_own() -> None:
    from torch.distributed.run import get_args_parser

    parser = get_args_parser()
    choices = {
        action.option_strings[0]: tuple(action.choices)
        for action in parser._actions
        if action.choices and action.option_strings
    }
    assert choices["--start-method"] == launcher_flags.START_METHODS
    if "--numa-binding" in choices:  # not in torch 2.6.0
        assert choices["--numa-binding"] == launcher_flags.NUMA_MODES
    from torch.distributed.elastic.events import handlers

    assert tuple(handlers._log_handlers) == launcher_flags.EVENT_LOG_HANDLERS


@pytest.mark.parametrize("text", ["0", "3", "0:1,1:2", "9:3", "4", "0:4", "", "1,2", "a", "01"])
def test_the_redirect_rule_agrees_with_torchs_std_from_str(text: str) -> None:
    from torch.distributed.elastic.multiprocessing.api import Std

    try:
        Std.from_str(text)
        torch_accepts = True
    except ValueError:
        torch_accepts = False
    value = launcher_flags.FlagValue(text, "flag --redirects")
    try:
        launcher_flags.check_std(value)
        ours = True
    except ConfigError:
        ours = False
    assert ours == torch_accepts


# ---------------------------------------------------------------- the training script


def args_for(*argv: str) -> argparse.Namespace:
    return MAIN.parse(list(argv)).args


def test_a_missing_script_is_refused_before_launch(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        check_script_here(args_for(str(tmp_path / "train.py")), {})


def test_a_directory_runs_only_with_its_main(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"directory without a __main__\.py"):
        check_script_here(args_for(str(tmp_path)), {})
    (tmp_path / "__main__.py").write_text("")
    check_script_here(args_for(str(tmp_path)), {})


def test_module_and_no_python_keep_their_meaning(tmp_path: Path) -> None:
    check_script_here(args_for("-m", "some.module.not.here"), {})  # the worker imports it
    check_script_here(args_for("--no-python", "true"), {})  # found on PATH
    check_script_here(args_for("--no-python", sys.executable), {})
    check_script_here(args_for("no.such.module"), {"PET_MODULE": "1"})
    with pytest.raises(ConfigError, match="no executable program on PATH"):
        check_script_here(args_for("--no-python", "no-such-program-here"), {})
    text = tmp_path / "tool"
    text.write_text("#!/bin/sh\n")
    with pytest.raises(ConfigError, match="not executable"):
        check_script_here(args_for("--no-python", str(text)), {})
    with pytest.raises(ConfigError, match="give -m to run a module"):
        check_script_here(args_for("my.module"), {})


def test_run_refuses_a_missing_script_with_one_line_and_no_summary() -> None:
    done = run_cli(["run", "--nproc-per-node", "2", "no/such/train.py"])
    refused(done, "training_script", "'no/such/train.py' does not exist")
    assert done.stderr.count("\n") == 1


def test_dry_run_shows_a_command_for_a_script_on_another_machine() -> None:
    done = run_cli(["run", "--dry-run", "/opt/job/train.py"])
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--nproc-per-node", "two"],
        ["--monitor-interval", "nan"],
        ["--log-dir", "/proc/logs"],
        ["--nproc-per-node", "xpu"],  # no XPU device: only torch can tell, after its import
    ],
    ids=str,
)
def test_run_answers_bad_flags_with_only_the_error_line(args: list[str]) -> None:
    # The settings summary used to come first, for a value torch then refused.
    done = run_cli(["run", *args, "examples/allreduce.py"])
    refused(done, "nproc_per_node" if "nproc" in args[0] else args[0][2:].replace("-", "_"))
    assert done.stderr.count("\n") == 1, done.stderr


def test_an_assertion_torch_raises_late_is_also_ours(tmp_path: Path) -> None:
    # LauncherFlagError is an AssertionError: code written against torch's main still catches it.
    with pytest.raises(LauncherFlagError):
        prepare(["--monitor-interval", "-0.5", SCRIPT], environ={})


@pytest.mark.parametrize("variable", ["PET_MODULE", "PET_NO_PYTHON", "PET_RUN_PATH"])
@pytest.mark.parametrize("value", ["yes", "", "1.0"])
def test_a_switch_variable_torch_cannot_read_is_refused(variable: str, value: str) -> None:
    # torch's parser does bool(int(os.environ[...])) when it is built: a ValueError from
    # inside torch after its import; here exit 2 naming the variable.
    with pytest.raises(ConfigError, match=f"from env {variable}"):
        prepare([SCRIPT], environ={variable: value})


def test_pet_standalone_yes_is_the_containers_and_never_reaches_torchs_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PET_STANDALONE", "yes")
    prepared = prepare([SCRIPT], environ={"PET_STANDALONE": "yes"})
    assert prepared is not None
    assert prepared.settings.source_of("endpoint") == "env PET_STANDALONE"
    MAIN.torch_parser()  # torch's check_env would raise ValueError for 'yes'
    assert os.environ["PET_STANDALONE"] == "yes"  # given back as it was
