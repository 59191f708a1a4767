"""``rendezvous_di.run.main``: torch.distributed.run.main's signature and exceptions.

Bad input is refused before torch is imported (checked in a fresh interpreter),
with the class torch raises for it; a failing worker raises ChildFailedError
as under torch. ``prepare`` is the torch-free half of ``main``.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import pytest

from rendezvous_di.config.torchrun_args import FLAG_OPTIONS, NOT_IN_EVERY_TORCH, VALUE_OPTIONS
from rendezvous_di.errors import ConfigError, LauncherFlagError
from rendezvous_di.run import prepare
from tests.support.procs import free_port, run_process

SCRIPT = "train.py"


def in_fresh_python(code: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a new interpreter; return its stdout (it prints what it observed)."""
    done = run_process([sys.executable, "-c", textwrap.dedent(code)], env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    return done.stdout


REFUSED_BEFORE_TORCH = """
    import sys
    from rendezvous_di.run import main
    try:
        main(ARGS)
    except BaseException as error:
        kinds = [k.__name__ for k in (SystemExit, ValueError, AssertionError)
                 if isinstance(error, k)]
        print(type(error).__name__, *kinds, "torch" in sys.modules)
        print(error)
    else:
        print("no error")
"""


@pytest.mark.parametrize(
    ("args", "env", "kinds", "fragment"),
    [
        (["--nproc-per-node", "0"], {}, "LauncherFlagError ValueError AssertionError", "flag"),
        (["--nproc-per-node", "-2"], {}, "LauncherFlagError ValueError AssertionError", "flag"),
        (["--nproc-per-node", "1.5"], {}, "ConfigError ValueError", "device word"),
        ([], {"PET_NPROC_PER_NODE": "0"}, "LauncherFlagError ValueError AssertionError", "env"),
        (["--max-restarts", "-1"], {}, "LauncherFlagError ValueError AssertionError", ">= 0"),
        ([], {"PET_MAX_RESTARTS": "-3"}, "LauncherFlagError ValueError AssertionError", "env"),
        (["--module", "--no-python"], {}, "ConfigError ValueError", "only one of them"),
        ([], {"PET_MODULE": "1", "PET_NO_PYTHON": "1"}, "ConfigError ValueError", "--module"),
        (["--rdzv-backend", "c10d", "--nnodes", "2"], {}, "ConfigError ValueError", "port 0"),
        (["--nnodes", "4:2"], {}, "ConfigError ValueError", "the minimum, 4"),
    ],
)
def test_bad_input_raises_torchs_exception_class_before_torch_is_imported(
    args: list[str], env: dict[str, str], kinds: str, fragment: str
) -> None:
    code = REFUSED_BEFORE_TORCH.replace("ARGS", repr([*args, SCRIPT]))
    first, message = in_fresh_python(code, env).splitlines()[:2]
    assert first == f"{kinds} False"
    assert fragment in message


def test_a_c10d_file_store_in_a_missing_directory_is_refused_before_torch(tmp_path: Path) -> None:
    missing = tmp_path / "not-there" / "store"
    args = ["--rdzv-backend", "c10d", "--rdzv-conf", "store_type=file"]
    code = REFUSED_BEFORE_TORCH.replace(
        "ARGS", repr([*args, "--rdzv-endpoint", str(missing), SCRIPT])
    )
    first, message = in_fresh_python(code).splitlines()[:2]
    assert first == "ConfigError ValueError False"
    assert f"directory {missing.parent} does not exist" in message


def test_bad_flags_and_a_missing_script_exit_2_from_the_parser_as_in_torch() -> None:
    for args in (["--bogus-flag", SCRIPT], ["--max-restarts", "many", SCRIPT], []):
        code = REFUSED_BEFORE_TORCH.replace("ARGS", repr(args))
        assert in_fresh_python(code).splitlines()[:2] == ["SystemExit SystemExit False", "2"]


@pytest.mark.slow
def test_a_failing_worker_raises_child_failed_error(tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("raise SystemExit(3)\n")
    code = f"""
        from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
        from rendezvous_di.run import main
        try:
            main(["--nproc-per-node", "1", "--monitor-interval", "0.2", {str(script)!r}])
        except ChildFailedError as error:
            print("ChildFailedError", sorted(f.exitcode for f in error.failures.values()))
    """
    assert in_fresh_python(code).strip() == "ChildFailedError [3]"


@pytest.mark.slow
def test_main_runs_a_job_with_the_callers_container_and_restores_its_flags(
    tmp_path: Path,
) -> None:
    code = f"""
        import sys
        from rendezvous_di import RendezvousContainer
        from rendezvous_di.run import main
        container = RendezvousContainer()
        container.config.from_dict({{"run_id": "from-the-container"}})
        sys.argv = ["torchrun", "--nproc-per-node", "1", "--master-port", "{free_port()}",
                    {str(tmp_path / "ok.py")!r}]
        main(container=container)  # args=None reads sys.argv, as torch's main does
        print(container.flags.overridden, container.settings().run_id)
    """
    (tmp_path / "ok.py").write_text(
        "import os\nprint('run id', os.environ['TORCHELASTIC_RUN_ID'])\n"
    )
    out = in_fresh_python(code)
    assert "run id from-the-container" in out
    assert out.splitlines()[-1] == "() from-the-container"


@pytest.mark.parametrize("word", ["auto", "cpu", "gpu", "xpu", "privateuseone", "4", "+2"])
def test_torchs_nproc_words_and_numbers_pass_the_preflight(word: str) -> None:
    prepared = prepare(["--nproc-per-node", word, SCRIPT], environ={})
    assert prepared is not None


@pytest.mark.parametrize("word", ["two", "npu", "GPU"])
def test_a_word_no_installed_device_extension_can_name_is_refused(word: str) -> None:
    # No torch.backends entry point here: privateuse1 keeps its name, so torch would say
    # "Unsupported nproc_per_node value" after its import; we say it before.
    with pytest.raises(ConfigError, match="neither a whole number nor a device word"):
        prepare(["--nproc-per-node", word, SCRIPT], environ={})


def test_a_word_is_left_to_torch_where_a_device_extension_may_have_named_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rendezvous_di.config import launcher_flags

    monkeypatch.setattr(launcher_flags, "_device_extensions_installed", lambda: True)
    assert prepare(["--nproc-per-node", "npu", SCRIPT], environ={}) is not None


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("'join_timeout=30'", {"join_timeout": 30}),
        ('"join_timeout=30,last_call_timeout=2"', {"join_timeout": 30, "last_call_timeout": 2}),
    ],
)
def test_a_quoted_rdzv_conf_is_read_as_meant_with_a_note(
    given: str, meant: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    prepared = prepare(["--rdzv-conf", given, SCRIPT], environ={})
    assert prepared is not None
    assert prepared.settings.conf == meant
    (note,) = capsys.readouterr().err.splitlines()
    assert note.startswith("rendezvous-di: note: --rdzv-conf was wrapped in quote marks")


def test_a_quoted_pet_rdzv_conf_is_read_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PET_RDZV_CONF", "'join_timeout=45'")
    prepared = prepare([SCRIPT])
    assert prepared is not None
    assert prepared.settings.conf == {"join_timeout": 45}
    assert prepared.settings.source_of("conf.join_timeout") == "env PET_RDZV_CONF"
    assert "PET_RDZV_CONF was wrapped in quote marks" in capsys.readouterr().err
    prepared.restore()


def test_a_callers_container_reads_config_and_flags_and_gets_both_back(tmp_path: Path) -> None:
    from rendezvous_di import RendezvousContainer

    config = tmp_path / "job.yaml"
    config.write_text("run_id: from-file\n")
    container = RendezvousContainer()
    container.environ.override({})
    prepared = prepare(
        ["--config", str(config), "--rdzv-conf", "join_timeout=9", SCRIPT],
        container=container,
        environ={},
    )
    assert prepared is not None
    assert prepared.container is container
    assert (prepared.settings.run_id, prepared.settings.conf) == ("from-file", {"join_timeout": 9})
    prepared.restore()
    assert (container.flags.overridden, container.config_file.overridden) == ((), ())
    assert container.settings().run_id != "from-file"
    container.environ.reset_last_overriding()


def test_unmatched_quotes_are_still_refused() -> None:
    with pytest.raises(ConfigError, match="conf"):
        prepare(["--rdzv-conf", "'join_timeout=30", SCRIPT], environ={})


def test_launcher_flag_errors_are_assertion_errors_like_torchs() -> None:
    with pytest.raises(AssertionError) as caught:
        prepare(["--max-restarts", "-1", SCRIPT], environ={})
    assert isinstance(caught.value, LauncherFlagError)
    assert caught.value.field == "max_restarts"


def test_the_torch_free_parse_knows_every_torchrun_option_and_its_arity() -> None:
    from torch.distributed.run import get_args_parser

    torch_options = {
        tuple(a.option_strings): a.nargs == 0
        for a in get_args_parser()._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction)
    }
    ours = {names: False for names in VALUE_OPTIONS} | {names: True for names in FLAG_OPTIONS}
    # Every option of the installed torch, with its arity; beyond it, only the options
    # other supported releases have (measured on 2.6.0, 2.13.0 and 2.14.1).
    assert {n: ours.get(n) for n in torch_options} == torch_options
    extra = {names[0] for names in set(ours) - set(torch_options)}
    assert extra <= set(NOT_IN_EVERY_TORCH)
    assert set(NOT_IN_EVERY_TORCH) <= {names[0] for names in ours}
