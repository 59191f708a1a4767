"""``rendezvous-di run``: torchrun, with the rendezvous taken from the container.

`rendezvous_di.run` does the work (`prepare`: the command line parsed once and
checked without torch; `launch`: torch's own parser and launcher, the
rendezvous from the container); this module adds the command line's
contract: exit 2 and one ``error:`` line for bad input, one line per failure
instead of a traceback (unless ``--debug``), a summary of the effective
rendezvous with its sources, its progress while it forms, with ``--verbose``
which provider created each handler, and ``--dry-run`` (`render_dry_run`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, NoReturn, TextIO

from ..config.flags import LaunchFlags, add_admission_flag, add_verbose_flag
from ..config.launcher_flags import check_script_here
from ..config.policy import DISABLE_AUTOLOAD_ENV
from ..config.torchrun_args import launcher_options
from ..errors import ConfigError, RendezvousDIError
from ..run import Prepared, launch, prepare
from ..text import one_line, visible
from .common import EXAMPLES, add_shared_flags, add_show_secrets_flag, fail
from .diagnose import explain, is_rendezvous_error, probe_after_failure, probed_already
from .progress import ProgressReporter
from .signals import exit_code, ignoring_stop_signals, is_stop, stop_signals
from .torchrun_text import env_line, rendezvous_and_notes, shell_join

NAME = "run"
HELP = "torchrun with the rendezvous from the container (every torchrun flag, plus --config)"
PROG = "rendezvous-di run"


def add_parser(commands: Any) -> None:
    """Listed in ``rendezvous-di --help``; parsed by torch's own parser (see `main`)."""
    commands.add_parser(NAME, help=HELP, add_help=False)


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """``--config``/``--profile``, ``--container``, ``--debug``, ``--verbose`` on torchrun's flags.

    Applied to torch's own parser (and to the torch-free parse that checks the
    input first), it also names and describes the command for ``--help``.
    """
    parser.prog = PROG
    parser.description = (
        "torchrun with the rendezvous from rendezvous-di's container: "
        "every torchrun flag, plus --config FILE or --profile NAME."
    )
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_shared_flags(parser)
    add_verbose_flag(parser)
    add_admission_flag(parser, what="run before the workers start")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check everything, then print the equivalent torchrun command and its PET_* "
        "variables instead of starting anything",
    )
    add_show_secrets_flag(parser)


def _usage_error(message: str) -> NoReturn:
    fail(PROG, message)


FLAGS = LaunchFlags(add_run_flags, _usage_error)
"""``rendezvous-di run``'s command line: torchrun's, ``run.main``'s flags and the CLI's."""


def _report_admission(text: str) -> None:
    """Every admission decision, with its numbers, as a progress line."""
    sys.stderr.write(f"rendezvous-di: admission: {text}\n")
    sys.stderr.flush()


def _report_handler(backend: str, handler: Any) -> None:
    sys.stderr.write(
        f"rendezvous-di: {type(handler).__name__} for {backend!r} "
        f"from the container's backends.providers[{backend!r}]\n"
    )


def _summary(settings: Any) -> str:
    line = (
        f"rendezvous-di: backend={settings.backend} ({settings.source_of('backend')}) "
        f"endpoint={settings.endpoint or '-'} ({settings.source_of('endpoint')}) "
        f"run_id={settings.run_id} nodes={settings.min_nodes}:{settings.max_nodes}"
    )
    return visible(line) + "\n"


def main(argv: Sequence[str], *, debug: bool = False) -> int:
    """Parse torchrun's flags, resolve the rendezvous through the container and launch.

    SIGTERM and SIGINT end it the same way whether the agent waits at the
    rendezvous or runs workers: torch's agent stops the workers (and waits for
    them), then one line ``error: stopped by SIGTERM; no worker is left running``
    and exit code 128 + the signal's number (143, 130), as a shell reports it.
    """
    try:
        with stop_signals(_stopped_line):
            return _launch(argv, debug=debug)
    except BaseException as error:
        sigval = getattr(error, "sigval", None)
        if debug or not isinstance(sigval, signal.Signals) or not is_stop(error):
            raise
        with ignoring_stop_signals():
            sys.stderr.write(_stopped_line(sigval) + "\n")
        return exit_code(sigval)


def _stopped_line(sigval: signal.Signals) -> str:
    return f"error: stopped by {sigval.name}; no worker is left running"


def _launch(argv: Sequence[str], *, debug: bool) -> int:
    """Validate, resolve the rendezvous through the container and launch; the exit code."""
    line = FLAGS.parse(argv)  # once: prepare, the dry run and torch's parser all read it
    debug = debug or bool(line.args.debug)
    prepared = prepare(line)
    if prepared is None:  # --help: torch's parser prints it and exits
        line.torch_args()
        return 0
    try:
        if line.args.dry_run:
            render_dry_run(prepared, sys.stdout)
            return 0
        return _run_job(prepared, debug=debug)
    finally:
        prepared.restore()


def _run_job(prepared: Prepared, *, debug: bool) -> int:
    """Launch the prepared job, reporting its rendezvous; one line for a failure."""
    settings = prepared.settings
    check_script_here(prepared.line.args, os.environ)  # before torch's 1.3 s import
    if not debug:
        _import_torch_quietly(os.environ)
    reporter = ProgressReporter(
        sys.stderr,
        min_nodes=settings.min_nodes,
        max_nodes=settings.max_nodes,
        reader=prepared.description.progress,
    )
    started = time.monotonic()
    try:
        launch(
            prepared,
            on_create=_Watcher(reporter, verbose=prepared.verbose).handler_created,
            report=_report_admission,
            on_ready=lambda: sys.stderr.write(_summary(settings)),  # after the last input check
        )
    except ConfigError:
        raise  # bad input: exit 2 with one error line (rendezvous_di.cli.main)
    except Exception as error:
        if debug or is_stop(error):
            raise  # a signal: torch's agent stopped the workers first; main() reports it
        return _report_failure(error, settings, prepared.description)
    sys.stderr.write(f"rendezvous-di: job finished in {time.monotonic() - started:.1f}s\n")
    return 0


CPP_LOG_LEVEL = "TORCH_CPP_LOG_LEVEL"
"""Read by torch's C++ logging once, when libtorch loads."""


def _import_torch_quietly(environ: MutableMapping[str, str]) -> None:
    """Import torch with its C++ log lines off in this agent process, unless the user set them.

    torch's TCPStore client logs each interrupted or timed-out connection
    attempt with dozens of C++ stack frames (kilobytes on a node waiting for
    its static rendezvous's host). The agent says what happens in its own
    lines (progress, one ``error:`` line), and the Python exception keeps the
    message. The variable is set only around the import, so the workers start
    with the environment the user gave; ``--debug`` keeps torch's logging.
    """
    if CPP_LOG_LEVEL in environ or "torch" in sys.modules:
        return
    environ[CPP_LOG_LEVEL] = "FATAL"
    try:
        from .._torch import rendezvous_module

        rendezvous_module()
    finally:
        environ.pop(CPP_LOG_LEVEL, None)


class _Watcher:
    """What ``run`` does with each handler torch's launcher obtains from the container."""

    def __init__(self, reporter: ProgressReporter, *, verbose: bool) -> None:
        self.reporter = reporter
        self.verbose = verbose

    def handler_created(self, backend: str, handler: Any) -> None:
        """With ``--verbose``, where the handler came from; then its rendezvous progress."""
        if self.verbose:
            _report_handler(backend, handler)
        self.reporter.watch(handler)


def _report_failure(error: Exception, settings: Any, description: Any = None) -> int:
    """One line for a failed job; its exit code, 1."""
    from ..admission.running import AdmissionRefused

    if isinstance(error, AdmissionRefused):  # its line names the check and the numbers
        sys.stderr.write(f"error: {one_line(str(error))}\n")  # no backend probe: not its fault
        return 1
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    if isinstance(error, ChildFailedError):
        summary = error.format_msg()  # type: ignore[no-untyped-call]
        sys.stderr.write(f"error: workers failed:\n{summary}\n")
        return 1
    if settings is not None and description is not None and not probed_already(error):
        probed = probe_after_failure(settings, description)
        if probed is not None:  # the server answers, but cannot serve this backend
            sys.stderr.write(f"error: {one_line(probed)}\n")
            return 1
    if settings is not None and is_rendezvous_error(error):
        sys.stderr.write(f"error: {one_line(explain(error, settings))}\n")
        return 1
    if isinstance(error, RendezvousDIError):  # ours name what failed and where already
        sys.stderr.write(f"error: {one_line(str(error))}\n")
        return 1
    sys.stderr.write(f"error: {one_line(f'{type(error).__name__}: {error}')}\n")
    return 1


PROGRAM = "torchrun"


def render_dry_run(
    prepared: Prepared, out: TextIO, *, environ: Mapping[str, str] | None = None
) -> None:
    """``run --dry-run``: the plain torchrun command the job amounts to, nothing started.

    Someone debugging a job wants to see it in torchrun's words: the effective
    rendezvous (from every source, resolved as ``run`` resolves it) and every
    launcher flag given, shell-quoted so the line can be pasted; then the same
    as ``PET_*`` variables, ready for a Kubernetes manifest's ``env:``, with the
    command that goes with them. Every check ``run`` makes comes first (its
    flags, the settings, the backend's local checks), so bad input still exits 2;
    torch is not imported, no store, thread or worker is started.

    What plain torchrun cannot do is said in ``#`` lines: a backend the container
    declares, a plugin it finds only where that plugin is installed, the
    ``plugins`` policy, a masked secret.
    """
    environ = os.environ if environ is None else environ
    settings, description, args = prepared.settings, prepared.description, prepared.line.args
    rendezvous, notes = rendezvous_and_notes(
        settings, description, args.container_spec, show_secrets=bool(args.show_secrets)
    )
    launcher = launcher_options(args, environ)
    script = [args.training_script, *args.training_script_args]
    out.write("# rendezvous-di run --dry-run: nothing was started. The same job with torchrun:\n")
    for note in notes:
        out.write(f"# {note}\n")
    for selected in prepared.admission:
        options = ", ".join(f"{k}={v}" for k, v in selected.options.items())
        out.write(
            f"# admission check {selected.name} ({selected.check.kind} check, "
            f"{selected.check.origin}): {options}\n"
        )
    arguments = [PROGRAM]
    for value in rendezvous.values:
        arguments += value.flag_args()
    for option in launcher:
        arguments += option.flag_args()
    out.write(shell_join([*arguments, *script]) + "\n")

    out.write("# the same as environment variables (torchrun reads PET_*), then the command:\n")
    for value in rendezvous.values:
        out.write(env_line(*value.env_item()))
    for option in launcher:
        if option.env is not None:
            out.write(env_line(option.env, "1" if option.text is None else option.text))
    if not settings.plugins.autoload:
        out.write(env_line(DISABLE_AUTOLOAD_ENV, "1"))
    no_twin = [arg for option in launcher if option.env is None for arg in option.flag_args()]
    out.write(shell_join([PROGRAM, *no_twin, *script]) + "\n")
