"""``rendezvous-di run``: torchrun, with the rendezvous taken from the container.

We reuse torch's own argument parser and launcher, so every torchrun flag
keeps its meaning, and change one thing: the rendezvous settings come from
the container's sources (``--config`` file < PET_* < flags) and torch's
registry is pointed at the container's backend while the job runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from .cli import EXAMPLES, fail
from .diagnose import explain, is_rendezvous_error
from .progress import ProgressReporter
from .sources import TORCHRUN_OPTIONS, FlagValue

# torchrun's argparse destinations for the settings keys.
_DESTS = {
    "backend": "rdzv_backend",
    "endpoint": "rdzv_endpoint",
    "run_id": "rdzv_id",
    "conf": "rdzv_conf",
    "nnodes": "nnodes",
    "standalone": "standalone",
    "local_addr": "local_addr",
}
assert set(_DESTS) == {o.key for o in TORCHRUN_OPTIONS}


def torchrun_parser() -> argparse.ArgumentParser:
    """torch's own torchrun parser, plus ``--config`` and ``--debug``.

    The rendezvous flags default to None so we can tell a given flag from
    torch's default (torch's defaults also read PET_* at construction; we read
    the environment ourselves, below the flags, with provenance).
    """
    from torch.distributed import run as torchrun

    parser = torchrun.get_args_parser()
    parser.prog = "rendezvous-di run"
    parser.description = (
        "torchrun with the rendezvous from rendezvous-di's container: "
        "every torchrun flag, plus --config FILE."
    )
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--config", metavar="FILE", help="YAML file with the rendezvous settings")
    parser.add_argument(
        "--container",
        dest="container_spec",
        metavar="MODULE:NAME",
        help="a platform's container (a RendezvousContainer or one nesting it as 'rendezvous')",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.set_defaults(**dict.fromkeys(_DESTS.values()))
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


def run(argv: Sequence[str], *, debug: bool = False) -> int:
    """Parse torchrun's flags, resolve the rendezvous through the container and launch."""
    from ._torch import rendezvous_module

    rendezvous_module()  # before torch.distributed.run imports it with plugin loading on
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    from .cli import new_container
    from .torch_registry import install

    args = torchrun_parser().parse_args(list(argv))
    debug = debug or args.debug
    container = new_container(args.container_spec)
    if args.config:
        container.config_file.override(args.config)
    flags: dict[str, Any] = {key: getattr(args, dest) for key, dest in _DESTS.items()}
    container.flags.override(flags)
    settings = container.settings()
    if settings.backend == "static" and settings.source_of("endpoint") == "default":
        # torchrun's static backend meets at --master-addr:--master-port.
        port = args.master_port if args.master_port is not None else 29500
        endpoint = FlagValue(f"{args.master_addr}:{port}", "--master-addr/--master-port")
        flags = {**flags, "endpoint": endpoint}  # a new mapping: the container compares by identity
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
    except Exception as error:
        if debug:
            raise
        if is_rendezvous_error(error):
            sys.stderr.write(f"error: {explain(error, settings)}\n")
            return 1
        sys.stderr.write(f"error: {type(error).__name__}: {error}\n")
        return 1
    sys.stderr.write(f"rendezvous-di: job finished in {time.monotonic() - started:.1f}s\n")
    return 0
