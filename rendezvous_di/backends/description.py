"""One description per backend, whatever its origin: everything we know about it in one value.

Built-ins (torch's creators), installed plugins, backends declared in code
with ``add_backend`` and backends registered on torch's registry by other code are all
described the same way: an option schema (or none: options pass through),
the default endpoint and port, what it needs installed, a settings check and
a readiness probe. Settings validation, ``rendezvous-di check``, the listing
and the generated docs read these fields; no code elsewhere asks
"is this c10d?".
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousParameters

    from ..config.settings import RendezvousSettings
    from .deadline import Deadline
    from .options import OptionSchema


@dataclass(frozen=True)
class ProbeResult:
    """One probe's verdict: ``ok``, what was found, and how to fix it when not ok.

    ``answered``: the backend's server answered, and what it serves is the
    problem (an etcd without the v2 API, refused credentials). Once a job
    failed, such a finding says more than the job's own error.
    """

    ok: bool
    detail: str
    fix: str | None = None
    answered: bool = False


@dataclass(frozen=True)
class Snapshot:
    """How far a rendezvous got, as its backend's shared state says (``run``'s progress lines)."""

    joined: int
    round: int | None = None
    complete: bool = False
    """The round this node is in has formed; the handler is finishing its join."""


ProgressReader = Callable[[Any], "Snapshot | None"]
"""Reads a handler's rendezvous from its backend's state, without touching the handler's own
state (not thread-safe); None when it cannot tell. Called from a monitor thread while the
agent waits in ``next_rendezvous``, and once more when it returns."""


Origin = Literal["builtin", "plugin", "container", "torch-registry"]
"""Where a backend comes from; shown as the listing's SOURCE column."""

SettingsCheck = Callable[["RendezvousSettings"], None]
"""Raises ConfigError when settings cannot work for this backend (checked before torch)."""

Probe = Callable[["RendezvousSettings", "Deadline"], "ProbeResult"]
"""Answers, within the deadline and without side effects, whether the backend is reachable."""

BeforeCreate = Callable[["RendezvousParameters"], None]
"""Runs just before torch's creator, with the parameters it gets; raises to refuse."""


def _no_check(settings: RendezvousSettings) -> None:
    return None


@dataclass(frozen=True)
class BackendDescription:
    """What one backend is, reads and needs.

    Attributes:
        name: the backend name (``config.backend`` selects it).
        origin: ``builtin``, ``plugin``, ``container`` or ``torch-registry``.
        summary: one line for listings.
        schema: its options; None lets any option through unchecked (a backend
            that declared none).
        default_endpoint: used when no endpoint is configured.
        default_port: the port an endpoint without one means (None: a port is required).
        requires: ``(module, extra)`` pairs that must be importable.
        settings_check: extra rules over the whole settings (endpoint grammar, ranks).
        probe: readiness probe for ``rendezvous-di check``; None: not probed.
        before_create: run before torch creates the handler, to refuse what torch would
            hang on (c10d: the endpoint it joins must answer as a TCPStore); None: nothing.
        local_check: what ``rendezvous-di run`` checks on this machine before anything
            starts (a file store's directory): raises ConfigError, touches no network.
        meets_at_master: without an endpoint, torchrun meets at ``--master-addr:--master-port``
            (its ``static`` backend).
        progress: how many nodes joined, read from the backend's state for ``run``'s
            progress lines; None: they show the time waited only.
        distribution: the distribution that ships it, for listings.
        version: that distribution's version, for listings.
    """

    name: str
    origin: Origin
    summary: str
    schema: OptionSchema | None = None
    default_endpoint: str = ""
    default_port: int | None = None
    requires: tuple[tuple[str, str], ...] = ()
    settings_check: SettingsCheck = _no_check
    probe: Probe | None = None
    before_create: BeforeCreate | None = None
    local_check: SettingsCheck = _no_check
    meets_at_master: bool = False
    progress: ProgressReader | None = None
    distribution: str | None = None
    version: str | None = None

    def convert_options(
        self,
        conf: Mapping[str, Any],
        sources: Mapping[str, str] | None = None,
        *,
        complete: bool = False,
    ) -> dict[str, Any]:
        """``conf`` validated and converted; unchecked when the backend declared no options.

        ``complete`` is for creating a handler: required options must be there and
        files are read. Without it (inspecting settings, maybe on another machine)
        neither is asked.
        """
        if self.schema is None:
            return dict(conf)
        return self.schema.validate(conf, require=complete, check_files=complete, sources=sources)

    def check(self, settings: RendezvousSettings) -> None:
        """Raise ConfigError when ``settings`` cannot work for this backend."""
        self.settings_check(settings)

    def missing_dependency(self) -> tuple[str, str] | None:
        """The first ``(module, extra)`` that is not installed, found without importing it."""
        for module, extra in self.requires:
            if importlib.util.find_spec(module) is None:
                return module, extra
        return None
