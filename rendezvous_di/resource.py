"""Providers for one resolution of the handler: initialised once, the sources read once.

``ThreadSafeResource``: a Resource that initialises once however many threads ask at once.

dependency-injector's ``Resource`` checks "initialised?" and then runs its
initialiser without a lock: 32 threads calling one container's ``handler()``
at once got up to 32 handlers here, each hosting its own TCPStore, and only
the last one was shut down by ``shutdown_resources()``. This subclass puts a
lock around the first initialisation only; once the resource exists, a call
takes no lock (the same check dependency-injector makes). Overrides still
win: they are answered by ``Provider.__call__`` before ``_provide`` runs.

``ReadOncePerResolution``: one ``handler()`` asks for the settings three times
(the Selector's key, the parameters, torch's backend check), and each used to
read every source again: 48 ``os.environ`` look-ups for one handler. While the
handler is being initialised, a provider of this type (the container's
``layers``) reads its sources once and answers the same layers to the other two;
every new resolution reads them again, so a changed variable or file is still
seen by the next ``handler()``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
        with self._init_lock, one_resolution():
            return super()._provide(args, kwargs)  # type: ignore[misc]


class _Resolution(threading.local):
    depth = 0
    values: dict[int, Any] | None = None


_resolution = _Resolution()


@contextmanager
def one_resolution() -> Iterator[None]:
    """Within this block (re-entrant, per thread), `ReadOncePerResolution` providers answer
    the value they computed first."""
    outermost = _resolution.depth == 0
    if outermost:
        _resolution.values = {}
    _resolution.depth += 1
    try:
        yield
    finally:
        _resolution.depth -= 1
        if outermost:
            _resolution.values = None


class ReadOncePerResolution(providers.Callable[Any]):
    """A ``providers.Callable`` computed once per resolution (`one_resolution`), else per call."""

    def _provide(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        values = _resolution.values
        if values is None:
            return super()._provide(args, kwargs)  # type: ignore[misc]
        key = id(self)  # this provider stays alive while the resolution runs
        if key not in values:
            values[key] = super()._provide(args, kwargs)  # type: ignore[misc]
        return values[key]
