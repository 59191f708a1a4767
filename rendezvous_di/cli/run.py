"""``rendezvous-di run``: torchrun, with the rendezvous taken from the container.

We reuse torch's own argument parser and launcher, so every torchrun flag
keeps its meaning, and change one thing: the rendezvous settings come from
the container's sources (``--config`` file < PET_* < flags) and torch's
registry is pointed at the container's backend while the job runs.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..config.sources import FlagValue
from ..config.torchrun import TORCHRUN_OPTIONS
from ..errors import one_line
from .common import EXAMPLES, add_shared_flags, container_for, fail
from .diagnose import explain, is_rendezvous_error
from .progress import ProgressReporter

NAME = "run"
HELP = "torchrun with the rendezvous from the container (every torchrun flag, plus --config)"


def add_parser(commands: Any) -> None:
    """Listed in ``rendezvous-di --help``; parsed by torch's own parser (see :func:`main`)."""
    commands.add_parser(NAME, help=HELP, add_help=False)


def torchrun_parser() -> argparse.ArgumentParser:
    """torch's own torchrun parser, plus ``--config``/``--profile`` and ``--debug``.

    The rendezvous flags default to None so we can tell a given flag from
    torch's default (torch's defaults also read PET_* at construction; we read
    the environment ourselves, below the flags, with provenance).
    """
    from torch.distributed import run as torchrun

    parser = torchrun.get_args_parser()
    parser.prog = "rendezvous-di run"
    parser.description = (
        "torchrun with the rendezvous from rendezvous-di's container: "
        "every torchrun flag, plus --config FILE or --profile NAME."
    )
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_shared_flags(parser)
    parser.set_defaults(**dict.fromkeys(o.dest for o in TORCHRUN_OPTIONS))
    parser.error = lambda message: fail(parser.prog, message)  # type: ignore[method-assign]
    return parser


def _report_handler(backend: str, handler: Any) -> None:
    sys.stderr.write(
        f"rendezvous-di: {type(handler).__name__} for {backend!r} "
        f"from the container's backends.providers[{backend!r}]\n"
    )


def _on_create(progress: ProgressReporter) -> Callable[[str, Any], None]:
    """Report where the handler came from, then show its rendezvous progress."""

    def on_create(backend: str, handler: Any) -> None:
        _report_handler(backend, handler)
        progress.watch(handler)

    return on_create


def main(argv: Sequence[str], *, debug: bool = False) -> int:
    """Parse torchrun's flags, resolve the rendezvous through the container and launch."""
    from .._torch import rendezvous_module

    rendezvous_module()  # before torch.distributed.run imports it with plugin loading on
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    # torch's import leaves a few million long-lived objects; every full collection
    # after it walks them all (~80 ms each here). The agent allocates little and
    # frees it promptly: move what exists now out of the collector's sight.
    gc.freeze()

    from ..backends.catalog import Catalog
    from ..torch_registry import install

    args = torchrun_parser().parse_args(list(argv))
    debug = debug or args.debug
    flags: dict[str, Any] = {o.key: getattr(args, o.dest) for o in TORCHRUN_OPTIONS}
    container = container_for(args, flags)
    settings = container.settings()
    described = Catalog(container.backends.providers).describe(settings.backend, settings.plugins)
    if described.meets_at_master and settings.source_of("endpoint") == "default":
        port = args.master_port if args.master_port is not None else 29500
        endpoint = FlagValue(f"{args.master_addr}:{port}", "--master-addr/--master-port")
        flags = {**flags, "endpoint": endpoint}
        container.flags.override(flags)
        settings = container.settings()

    args.rdzv_backend = settings.backend
    args.rdzv_endpoint = settings.endpoint
    args.rdzv_id = settings.run_id
    args.rdzv_conf = settings.as_torchrun_conf()
    args.nnodes = f"{settings.min_nodes}:{settings.max_nodes}"
    args.local_addr = settings.local_addr
    args.standalone = False
    sys.stderr.write(
        f"rendezvous-di: backend={settings.backend} ({settings.source_of('backend')}) "
        f"endpoint={settings.endpoint} run_id={settings.run_id} "
        f"nodes={settings.min_nodes}:{settings.max_nodes}\n"
    )
    started = time.monotonic()
    progress = ProgressReporter(
        sys.stderr, min_nodes=settings.min_nodes, max_nodes=settings.max_nodes
    )
    try:
        with install(container, [settings.backend], on_create=_on_create(progress)):
            torchrun.run(args)  # type: ignore[no-untyped-call]
    except ChildFailedError as error:
        if debug:
            raise
        summary = error.format_msg()  # type: ignore[no-untyped-call]
        sys.stderr.write(f"error: workers failed:\n{summary}\n")
        return 1
    except SignalException as error:
        if debug:
            raise
        # torch's agent stopped the workers before raising: say so, exit as the shell would.
        name = signal.Signals(error.sigval).name
        sys.stderr.write(f"error: stopped by {name}; the workers were stopped too\n")
        return 128 + int(error.sigval)
    except Exception as error:
        if debug:
            raise
        if is_rendezvous_error(error):
            sys.stderr.write(f"error: {one_line(explain(error, settings))}\n")
            return 1
        sys.stderr.write(f"error: {one_line(f'{type(error).__name__}: {error}')}\n")
        return 1
    sys.stderr.write(f"rendezvous-di: job finished in {time.monotonic() - started:.1f}s\n")
    return 0
