"""``ThreadSafeResource``: a Resource that initialises once however many threads ask at once.

dependency-injector's ``Resource`` checks "initialised?" and then runs its
initialiser without a lock: 32 threads calling one container's ``handler()``
at once got up to 32 handlers here, each hosting its own TCPStore, and only
the last one was shut down by ``shutdown_resources()``. This subclass puts a
lock around the first initialisation only; once the resource exists, a call
takes no lock (the same check dependency-injector makes). Overrides still
win: they are answered by ``Provider.__call__`` before ``_provide`` runs.
"""

from __future__ import annotations

import threading
from typing import Any

from dependency_injector import providers


class ThreadSafeResource(providers.Resource[Any]):
    """A ``providers.Resource`` whose initialisation runs at most once at a time.

    Threads that ask while another initialises wait for it and share its
    resource; if the initialisation fails, the next caller tries again (as
    with a plain Resource). Copies (a container instance, a nested container)
    get their own lock.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._init_lock = threading.RLock()  # re-entrant: an initialiser may ask for itself
        super().__init__(*args, **kwargs)

    def _provide(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # dependency-injector's stubs leave out _provide (a cpdef method it calls itself).
        if self.initialized:
            return super()._provide(args, kwargs)  # type: ignore[misc]
        with self._init_lock:
            return super()._provide(args, kwargs)  # type: ignore[misc]
