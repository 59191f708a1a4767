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
read as meant, with a note on stderr. One more, about what is left: without
``--log-dir``, torch's ``$TMPDIR/torchelastic_*`` log directory is removed
when the job ends (`rendezvous_di.scratch`); torchrun leaves one per job.

Two steps, each usable alone: `prepare` reads the command line (parsed once,
without torch) into the container and checks everything a node can check
alone; `launch` imports torch and runs its launcher on the prepared job. The
CLI (``rendezvous-di run``) calls the same two with its own flags and adds the
error contract: exit 2 and one ``error:`` line for bad input.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import scratch
from .arguments import Overrides, configure
from .config import launcher_flags as launcher
from .config.flags import MAIN, LaunchFlags, ParsedLine
from .config.torchrun import DEFAULT_MASTER_ADDR, unquote
from .errors import ConfigError
from .locate import new_container
from .preflight import validate_locally
from .stop import is_stop
from .text import shorten

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler

    from .backends.description import BackendDescription
    from .config.settings import RendezvousSettings

OnCreate = Callable[[str, "RendezvousHandler"], None]
Report = Callable[[str], None]


@dataclass(frozen=True)
class Prepared:
    """A job checked without torch: its command line, the container fed with it, the settings."""

    line: ParsedLine
    container: Any
    settings: RendezvousSettings
    description: BackendDescription
    overrides: Overrides
    """The container's providers overridden for this run (``flags``, ``config_file``...)."""
    admission: tuple[Any, ...] = ()
    """The admission checks selected (`rendezvous_di.admission.selection.Selected` each)."""

    @property
    def verbose(self) -> bool:
        return bool(getattr(self.line.args, "verbose", False))

    def restore(self) -> None:
        """Undo exactly the overrides made for this run (a caller's container is theirs)."""
        self.overrides.restore()


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
        AdmissionRefused: an admission check (``--admission``) refused this node
            (`rendezvous_di.admission.running.AdmissionRefused`).
    """
    line = MAIN.parse(sys.argv[1:] if args is None else args)
    prepared = prepare(line, container=container)
    if prepared is None:  # --help: torch's parser prints it and exits
        line.torch_args()
        return
    try:
        launch(prepared)
    finally:
        prepared.restore()


def prepare(
    line: ParsedLine | Sequence[str],
    *,
    container: Any = None,
    flags: LaunchFlags = MAIN,
    environ: Mapping[str, str] | None = None,
) -> Prepared | None:
    """Everything checked without torch; None for ``--help`` and the like (torch answers).

    Args:
        line: the command line, parsed (`LaunchFlags.parse`) or as given (parsed here
            with ``flags``).
        container: the container to feed; by default a new one, or the one the
            command line's ``--container`` names (the CLI's flag).
        environ: where ``PET_*`` launcher variables are read (default ``os.environ``).
    """
    if not isinstance(line, ParsedLine):
        line = flags.parse(line)
    environ = os.environ if environ is None else environ
    if line.exits_early:  # --help, --print-completion: torch's parser prints and exits
        return None
    line.require_script()
    args = line.args
    launcher.check_launcher_flags(args, environ)
    note_quoted_conf(args.rdzv_conf, environ)
    if container is None:
        container = new_container(getattr(args, "container_spec", None))
    overrides = configure(container, args)
    try:
        settings, description = validate_locally(container)
        admission = selected_admission(container, settings)
    except BaseException:
        overrides.restore()
        raise
    return Prepared(line, container, settings, description, overrides, admission)


def selected_admission(container: Any, settings: RendezvousSettings) -> tuple[Any, ...]:
    """The container's ``admission`` checks, validated; nothing is imported when none is selected.

    Raises:
        ConfigError: an unknown check, a bad option, a check plugin that fails to load.
    """
    provider = getattr(container, "admission", None)
    if provider is None or not (settings.admission or provider.overridden):
        return ()
    return tuple(provider())


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


def launch(
    prepared: Prepared,
    *,
    on_create: OnCreate | None = None,
    on_ready: Callable[[], object] | None = None,
    report: Report | None = None,
) -> None:
    """Import torch, read the command line with torch's own parser, launch through the bridge.

    ``on_create(backend, handler)`` sees every handler torch's launcher obtains
    (the CLI reports it and watches its progress). ``on_ready()`` is called once
    torch's parser and its device check have accepted the line, just before the
    launch: what it prints (the CLI's summary) never precedes an input error.
    With admission checks selected, the node checks run then (a failure raises
    `rendezvous_di.admission.running.AdmissionRefused` before anything joins) and
    each handler runs the group checks after its rounds form; ``report`` gets
    every decision as a line.

    Raises:
        ConfigError: the training script is not there to run (before torch's import).
        AdmissionRefused: a node check failed, or a group check refused this node.
    """
    settings = prepared.settings
    launcher.check_script_here(prepared.line.args, os.environ)
    from ._torch import rendezvous_module

    rendezvous_module()  # before torch.distributed.run imports it with plugin loading on
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import record

    # torch's import leaves a few million long-lived objects; every full collection
    # after it walks them all (~80 ms each here). The agent allocates little and
    # frees it promptly: move what exists now out of the collector's sight.
    gc.freeze()
    from .registry.torch_bridge import install

    args = prepared.line.torch_args()
    apply_settings(args, settings, prepared.description)
    check_nproc_word(torchrun, args.nproc_per_node)
    note = disable_store_sharing(
        os.environ, settings.min_nodes, settings.max_nodes, int(args.max_restarts or 0)
    )
    if note is not None and prepared.verbose:
        sys.stderr.write(note)
    if on_ready is not None:
        on_ready()
    if prepared.admission:
        from .admission.running import run_node_checks

        run_node_checks(prepared.admission, local_addr=settings.local_addr, report=report)
        on_create = _admitting(prepared, on_create, report)
    handlers: list[Any] = []  # what a stop signal makes leave their rendezvous
    try:
        with contextlib.ExitStack() as cleanup:
            if not args.log_dir and getattr(args, "logs_specs", None) is None:
                # torch would make /tmp/torchelastic_* and leave it: ours goes at the end.
                args.log_dir = cleanup.enter_context(scratch.log_dir())
            created = _remembering(handlers, on_create)
            with install(prepared.container, [settings.backend], on_create=created):
                record(torchrun.run)(args)
    except BaseException as error:
        if is_stop(error):  # torch skips shutdown (it would close the run for every node)
            from .backends.liveness.leaving import leave

            for handler in handlers:
                leave(handler)  # so the others need not wait for its heartbeats to expire
        raise
    finally:
        if note is not None:  # a caller of main() gets its environment back as it was
            os.environ.pop(STORE_SHARING, None)


def _remembering(handlers: list[Any], on_create: OnCreate | None) -> OnCreate:
    """``on_create`` that first adds each handler to ``handlers``."""

    def created(backend: str, handler: RendezvousHandler) -> None:
        handlers.append(handler)
        if on_create is not None:
            on_create(backend, handler)

    return created


def _admitting(prepared: Prepared, on_create: OnCreate | None, report: Report | None) -> OnCreate:
    """``on_create`` that first makes each handler run the group checks after its rounds form."""
    from .admission.group import admit_group

    settings = prepared.settings

    def created(backend: str, handler: RendezvousHandler) -> None:
        admit_group(
            handler,
            prepared.admission,
            min_nodes=settings.min_nodes,
            local_addr=settings.local_addr,
            report=report,
        )
        if on_create is not None:
            on_create(backend, handler)

    return created


def apply_settings(
    args: Any, settings: RendezvousSettings, description: BackendDescription
) -> None:
    """Hand the container's rendezvous to torch's launcher, in torchrun's attribute names."""
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


STORE_SHARING = "TORCH_DISABLE_SHARE_RDZV_TCP_STORE"
"""Set by `disable_store_sharing` where a later round may change rank 0."""


def can_change_rank_zero(min_nodes: int, max_nodes: int, max_restarts: int) -> bool:
    """Whether a later round may give rank 0 to another host than the first round did."""
    return max_nodes > 1 and (min_nodes < max_nodes or max_restarts > 0)


def disable_store_sharing(
    environ: MutableMapping[str, str], min_nodes: int, max_nodes: int, max_restarts: int
) -> str | None:
    """Set `STORE_SHARING` to ``1`` for a job that needs it; the note to show, or None.

    Since torch 2.4 the dynamic rendezvous (c10d, etcd-v2, etcd-v3) hands the
    workers a TCPStore hosted by the rank-0 agent, and a handler builds that
    store's address once: in ``DynamicRendezvousHandler.next_rendezvous`` the
    bootstrap store info is rebuilt only on the first round or when this node
    becomes rank 0 without a server of its own. After a re-rendezvous in which
    the rank-0 host died and this node stayed rank 1 or more, its workers get the
    dead host's address and never connect (seen on torch 2.13 in
    tests/multihost/test_etcd_v3_faults.py). With
    ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1`` torch publishes the new rank 0's
    address through the rendezvous store every round instead.

    A job can re-rendezvous with a new rank 0 only when it has more than one node
    and either its size may change (``min_nodes < max_nodes``) or it restarts
    (``max_restarts > 0``); for those, `run` sets the variable unless the user
    set it (to anything: their choice wins). The cost is the one torch's opt-out
    has: the workers' store is created per round, not reused from the agent.

    Nothing changes when the user set the variable or the job cannot change rank 0.
    """
    if STORE_SHARING in environ or not can_change_rank_zero(min_nodes, max_nodes, max_restarts):
        return None
    environ[STORE_SHARING] = "1"
    return (
        f"rendezvous-di: {STORE_SHARING}=1 (nodes {min_nodes}:{max_nodes}, max_restarts "
        f"{max_restarts}): the workers' store address is taken anew each round, so a node "
        "that outlives the rank-0 host reaches the new one; set the variable to keep "
        "torch's default\n"
    )
