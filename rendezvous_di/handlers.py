"""``NamedHandler``: a handler served under another backend name, a platform backend's usual shape.

torch (and the container) check that a handler's ``get_backend()`` is the
name it was created for. A platform that serves torch's c10d rendezvous,
placed and configured its own way, under its own name wraps it here.
Importing this module imports torch.
"""

from __future__ import annotations

from typing import Any

from ._torch import rendezvous_module

rendezvous_module()  # torch's rendezvous package, imported without torch's plugin loading

from torch.distributed.elastic.rendezvous import RendezvousHandler  # noqa: E402


class NamedHandler(RendezvousHandler):
    """Delegates every method to ``inner``; ``get_backend()`` returns ``backend``."""

    def __init__(self, inner: Any, backend: str) -> None:
        if not backend:
            raise ValueError(f"backend: {backend!r} must be a non-empty string")
        self.inner = inner
        self.backend = backend

    def get_backend(self) -> str:
        return self.backend

    @property
    def use_agent_store(self) -> bool:
        return bool(self.inner.use_agent_store)

    def next_rendezvous(self) -> Any:
        return self.inner.next_rendezvous()

    def is_closed(self) -> bool:
        return bool(self.inner.is_closed())

    def set_closed(self) -> None:
        self.inner.set_closed()

    def num_nodes_waiting(self) -> int:
        return int(self.inner.num_nodes_waiting())

    def get_run_id(self) -> str:
        return str(self.inner.get_run_id())

    def shutdown(self) -> bool:
        return bool(self.inner.shutdown())

    def __repr__(self) -> str:
        return f"<NamedHandler {self.backend!r} over {self.inner!r}>"


def renamed(handler: Any, backend: str) -> NamedHandler:
    """``handler`` reporting ``backend`` from ``get_backend()``, everything else delegated."""
    return NamedHandler(handler, backend)
