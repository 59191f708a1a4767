"""What ``rendezvous-di run`` and ``check`` verify before anything starts, without a network.

The effective settings, the selected backend's options with their files
read (TLS certificates), and its checks of this machine (a file store's
directory): every answer a node can give alone, in milliseconds, before
torch is imported. ``check`` adds the network probe on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry.catalog import selected_description

if TYPE_CHECKING:
    from .backends.description import BackendDescription
    from .config.settings import RendezvousSettings


def validate_for_run(container: Any) -> tuple[RendezvousSettings, BackendDescription]:
    """The settings and the selected backend's description, files checked as on the job's node.

    Raises:
        ConfigError: for any invalid value (``rendezvous-di`` exits with 2).
    """
    settings: RendezvousSettings = container.settings()
    description = selected_description(container, settings)
    if description.schema is not None:
        # require=False: torch's launcher adds static's rank itself (--node-rank).
        description.schema.validate(
            settings.conf, require=False, check_files=True, sources=settings.sources
        )
    return settings, description


def validate_locally(container: Any) -> tuple[RendezvousSettings, BackendDescription]:
    """`validate_for_run`, then the backend's checks of this machine (``run``'s preflight)."""
    settings, description = validate_for_run(container)
    description.local_check(settings)
    return settings, description
