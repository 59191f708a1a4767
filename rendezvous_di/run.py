"""``rendezvous_di.run.main``: ``torch.distributed.run.main``, the rendezvous from the container.

Same signature, same flags with their ``PET_*`` twins, same defaults (with
no backend, several nodes meet at ``--master-addr:--master-port`` with
``--node-rank`` as the rank) and the same exceptions: ``SystemExit`` from
the parser, ``ChildFailedError`` when a worker fails, torch's own
``ValueError``/``AssertionError`` classes for bad values. Two differences,
both about input: the rendezvous settings come from the container's
sources (``--config FILE`` < ``PET_*`` < flags, with provenance), and they
are validated before torch is imported, so bad input fails in milliseconds,
before any store, thread or worker starts. A ``--rdzv-conf`` value wrapped in
quote marks (a Kubernetes ``args:`` array has no shell to remove them) is
read as meant, with a note on stderr.

The CLI (``rendezvous-di run``) is this plus the error contract: exit 2 and
one ``error:`` line for bad input.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import launcher_flags as launcher
from .config.schedulers.flag import add_scheduler_flag, scheduler_flag
from .config.torchrun import TORCHRUN_OPTIONS, unquote
from .config.torchrun_args import exits_early, parse_mirror
from .errors import ConfigError
from .text import shorten

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler

    from .backends.description import BackendDescription
    from .config.settings import RendezvousSettings

AddFlags = Callable[[argparse.ArgumentParser], None]
ParserError = Callable[[str], Any]
OnCreate = Callable[[str, "RendezvousHandler"], None]

REQUIRED_SCRIPT = "the following arguments are required: training_script, training_script_args"
"""torch's parser's message when no script is given (we refuse it before torch's import)."""


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """What ``run.main`` takes besides torchrun's flags: ``--config`` and ``--verbose``."""
    parser.add_argument(
        "--config", metavar="FILE", help="YAML file with the settings keys (lowest precedence)"
    )
    add_config_key_flag(parser)
    add_scheduler_flag(parser)
    add_verbose_flag(parser)


def add_config_key_flag(parser: argparse.ArgumentParser) -> None:
    """``--config-key KEY``: the settings sit under KEY of the ``--config`` file (a platform's)."""
    parser.add_argument(
        "--config-key",
        metavar="KEY",
        help="read the settings from under KEY of the --config file (a platform's own YAML; "
        "a dotted path such as platform.rendezvous); the file's other keys are ignored",
    )


def add_verbose_flag(parser: argparse.ArgumentParser) -> None:
    """``--verbose``: say which provider created the handler (once per rendezvous)."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="report which container provider created each rendezvous handler",
    )


@dataclass(frozen=True)
class Prepared:
    """The outcome of the preflight: the container fed with the flags, its checked settings."""

    container: Any
    settings: RendezvousSettings
    description: BackendDescription
    verbose: bool
    overridden: tuple[Any, ...]
    """The container's providers overridden for this run (``flags``, ``config_file``)."""

    def restore(self) -> None:
        """Undo exactly the overrides made for this run (a caller's container is theirs)."""
        for provider in self.overridden:
            provider.reset_last_overriding()


def main(args: Sequence[str] | None = None, *, container: Any = None) -> None:
    """Launch like ``torch.distributed.run.main(args)``, the rendezvous from ``container``.

    Args:
        args: torchrun's command line without the program name (default ``sys.argv[1:]``).
        container: a ``RendezvousContainer`` (or a platform container's); a new one by
            default. Its ``flags`` provider is overridden for the run and restored after.

    Raises:
        SystemExit: from the parser (bad flags, ``--help``), as torch's.
        ConfigError: a ``ValueError``; `rendezvous_di.errors.LauncherFlagError`
            also an ``AssertionError`` where torch asserts (``--nproc-per-node 0``).
        ChildFailedError: a worker failed.
    """
    argv = list(sys.argv[1:] if args is None else args)
    launch(argv, container=container)


def launch(
    argv: Sequence[str],
    *,
    container: Any = None,
    make_container: Callable[[argparse.Namespace], Any] | None = None,
    add_flags: AddFlags = add_run_flags,
    parser_error: ParserError | None = None,
    on_prepared: Callable[[Prepared], None] | None = None,
    on_create: OnCreate | None = None,
) -> None:
    """`main` with the hooks the CLI adds (its flags, error contract and reporting)."""
    argv = list(argv)
    prepared = prepare(
        argv,
        container=container,
        make_container=make_container,
        add_flags=add_flags,
        parser_error=parser_error,
    )
    try:
        if prepared is not None and on_prepared is not None:
            on_prepared(prepared)
        run_prepared(argv, prepared, add_flags, parser_error, on_create)
    finally:
        if prepared is not None:
            prepared.restore()


def prepare(
    argv: Sequence[str],
    *,
    container: Any = None,
    make_container: Callable[[argparse.Namespace], Any] | None = None,
    add_flags: AddFlags = add_run_flags,
    parser_error: ParserError | None = None,
    environ: Mapping[str, str] | None = None,
) -> Prepared | None:
    """Everything checked without torch; None for ``--help`` and the like (torch answers)."""
    environ = os.environ if environ is None else environ
    mirror = parse_mirror(argv, add_flags, parser_error)
    if exits_early(mirror):  # --help, --print-completion: torch's parser prints and exits
        return None
    if mirror.training_script is None:
        _parser_error(parser_error, REQUIRED_SCRIPT)
    check_launcher_flags(mirror, environ)
    note_quoted_conf(mirror.rdzv_conf, environ)
    flags = {o.key: getattr(mirror, o.dest) for o in TORCHRUN_OPTIONS}
    flags.update(scheduler_flag(mirror))
    if container is None:
        container = make_container(mirror) if make_container is not None else _new_container()
    overridden = [container.flags]
    if getattr(mirror, "config", None) == "":  # an empty path is an error, not "no file"
        raise ConfigError("--config", "", "the path is empty; expected a YAML file")
    if getattr(mirror, "config", None):
        container.config_file.override(mirror.config)
        overridden.append(container.config_file)
    if getattr(mirror, "config_key", None) is not None:
        container.config_key.override(mirror.config_key)
        overridden.append(container.config_key)
    container.flags.override(flags)
    try:
        from .preflight import validate_locally

        settings, description = validate_locally(container)
    except BaseException:
        for provider in overridden:
            provider.reset_last_overriding()
        raise
    return Prepared(container, settings, description, bool(mirror.verbose), tuple(overridden))


def check_launcher_flags(mirror: argparse.Namespace, environ: Mapping[str, str]) -> None:
    """``--nproc-per-node``, ``--max-restarts`` (flag or PET_*), ``--module``/``--no-python``."""
    launcher.check_nproc_per_node(
        launcher.effective(mirror.nproc_per_node, "--nproc-per-node", "PET_NPROC_PER_NODE", environ)
    )
    launcher.check_max_restarts(
        launcher.effective(mirror.max_restarts, "--max-restarts", "PET_MAX_RESTARTS", environ)
    )
    launcher.check_module_without_python(
        launcher.env_flag(mirror.module, "PET_MODULE", environ),
        launcher.env_flag(mirror.no_python, "PET_NO_PYTHON", environ),
    )


def note_quoted_conf(flag_value: str | None, environ: Mapping[str, str]) -> None:
    """One stderr line when ``--rdzv-conf`` (or ``PET_RDZV_CONF``) came in quote marks."""
    given, where = (
        (flag_value, "--rdzv-conf") if flag_value is not None else (None, "PET_RDZV_CONF")
    )
    if given is None:
        given = environ.get("PET_RDZV_CONF")
    inner = None if given is None else unquote(given)
    if inner is not None:
        sys.stderr.write(
            f"rendezvous-di: note: {where} was wrapped in quote marks; read as "
            f"{shorten(inner, 120)!r}\n"
        )


def run_prepared(
    argv: Sequence[str],
    prepared: Prepared | None,
    add_flags: AddFlags,
    parser_error: ParserError | None,
    on_create: OnCreate | None,
) -> None:
    """Import torch, parse ``argv`` with torch's own parser and launch through the bridge."""
    from ._torch import rendezvous_module

    rendezvous_module()  # before torch.distributed.run imports it with plugin loading on
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import record

    # torch's import leaves a few million long-lived objects; every full collection
    # after it walks them all (~80 ms each here). The agent allocates little and
    # frees it promptly: move what exists now out of the collector's sight.
    gc.freeze()
    from .registry.torch_bridge import install

    args = torch_parser(add_flags, parser_error).parse_args(list(argv))
    if prepared is None:  # --help was given with something torch's parser accepts
        return
    settings = prepared.settings
    apply_settings(args, settings, prepared.description)
    check_nproc_word(torchrun, args.nproc_per_node)
    from .store_sharing import disable_sharing

    note = disable_sharing(
        os.environ, settings.min_nodes, settings.max_nodes, int(args.max_restarts or 0)
    )
    if note is not None and prepared.verbose:
        sys.stderr.write(note)
    try:
        with install(prepared.container, [settings.backend], on_create=on_create):
            record(torchrun.run)(args)
    finally:
        if note is not None:  # a caller of main() gets its environment back as it was
            os.environ.pop("TORCH_DISABLE_SHARE_RDZV_TCP_STORE", None)


def torch_parser(
    add_flags: AddFlags, parser_error: ParserError | None = None
) -> argparse.ArgumentParser:
    """torch's own torchrun parser, plus our flags.

    The rendezvous flags default to None: the container reads them, and
    their PET_* twins, with provenance (torch's defaults read PET_* at construction).
    """
    from torch.distributed import run as torchrun

    parser: argparse.ArgumentParser = torchrun.get_args_parser()
    add_flags(parser)
    parser.set_defaults(**dict.fromkeys(o.dest for o in TORCHRUN_OPTIONS))
    if parser_error is not None:
        parser.error = parser_error  # type: ignore[method-assign,assignment]
    return parser


def apply_settings(
    args: argparse.Namespace, settings: RendezvousSettings, description: BackendDescription
) -> None:
    """Hand the container's rendezvous to torch's launcher, in torchrun's attribute names."""
    from .config.torchrun import DEFAULT_MASTER_ADDR

    args.rdzv_backend = settings.backend
    args.rdzv_endpoint = settings.endpoint
    args.rdzv_id = settings.run_id
    args.rdzv_conf = settings.as_torchrun_conf()
    args.nnodes = f"{settings.min_nodes}:{settings.max_nodes}"
    args.local_addr = settings.local_addr
    args.standalone = False
    # torchrun gives static --node-rank as its rank option; other backends ignore it.
    args.node_rank = settings.conf.get("rank", 0) if description.meets_at_master else 0
    args.master_addr = DEFAULT_MASTER_ADDR  # read by torch only without an endpoint
    args.master_port = None


def check_nproc_word(torchrun: Any, nproc_per_node: str) -> None:
    """A device word torch does not know (or whose device is missing), before any store starts."""
    if nproc_per_node.strip().lstrip("+-").isdigit():
        return  # checked before torch's import
    try:
        torchrun.determine_local_world_size(nproc_per_node)
    except ValueError as error:
        raise ConfigError(
            "nproc_per_node", nproc_per_node, str(error), choices=launcher.NPROC_WORDS
        ) from None


def _parser_error(parser_error: ParserError | None, message: str) -> None:
    if parser_error is not None:
        parser_error(message)
    sys.stderr.write(f"torchrun: error: {message}\n")
    raise SystemExit(2)


def _new_container() -> Any:
    from .container import RendezvousContainer

    return RendezvousContainer()
