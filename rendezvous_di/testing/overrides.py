"""Overriding a backend or the whole handler, undone exactly (never ``reset_override()``).

dependency-injector's ``reset_override()`` on a container also wipes its
configuration, and ``OverridingContext`` can only pop the *last* override.
`Override` removes precisely the override it added, whatever came
after it, so overrides can be nested, undone early in a ``with`` block, or
left to the end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from ..resource import ThreadSafeResource

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

    from ..registry.torch_bridge import Installation

Replacement = Any
"""A handler instance, a handler class, a creator ``(params) -> handler``, or a provider."""


def remove_override(provider: providers.Provider[Any], overriding: providers.Provider[Any]) -> None:
    """Remove ``overriding`` from ``provider``'s override stack, keeping every other one."""
    stack = list(provider.overridden)
    if not any(item is overriding for item in stack):
        return
    if stack[-1] is overriding:
        provider.reset_last_overriding()
        return
    provider.reset_override()  # only ever called on handler and backend providers
    for item in stack:
        if item is not overriding:
            provider.override(item)


def construct_handler(cls: type[Any], params: RendezvousParameters) -> RendezvousHandler:
    """A handler class as a creator: ``cls.from_parameters(params)``, else ``cls(params)``."""
    factory = getattr(cls, "from_parameters", None)
    handler: RendezvousHandler = factory(params) if callable(factory) else cls(params)
    return handler


def call_creator(
    creator: Callable[[RendezvousParameters], RendezvousHandler], params: RendezvousParameters
) -> RendezvousHandler:
    return creator(params)


def handler_lifecycle(handler: RendezvousHandler) -> Any:
    """Resource body for a whole-handler override: shut down with the container's resources."""
    yield handler
    handler.shutdown()


class Override:
    """One applied override. Undo it with `undo`, a ``with`` block, or the test's end."""

    def __init__(
        self,
        container: Any,
        target: providers.Provider[Any],
        overriding: providers.Provider[Any],
        label: str,
    ) -> None:
        self.container = container
        self.target = target
        self.overriding = overriding
        self.label = label
        self.active = True
        target.override(overriding)

    def undo(self) -> None:
        """Remove the override and shut down a handler created while it was active. Idempotent."""
        if not self.active:
            return
        self.active = False
        handler = self.container.handler
        if self.target is not handler and handler.initialized:
            handler.shutdown()  # it was built from the overridden backend
        if isinstance(self.overriding, providers.Resource) and self.overriding.initialized:
            self.overriding.shutdown()
        remove_override(self.target, self.overriding)

    def __enter__(self) -> Override:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.undo()

    def __repr__(self) -> str:
        state = "active" if self.active else "undone"
        return f"<Override {self.label} ({state})>"


class RendezvousOverride:
    """What the ``rendezvous_override`` fixture returns; bound to one container.

    ``rendezvous_override(replacement)`` overrides the backend the container
    selects, ``rendezvous_override(replacement, backend="etcd")`` another one,
    and ``rendezvous_override.handler(replacement)`` the whole handler. Backend
    overrides sit inside the Selector, so they also reach torch's registry
    through [`install`][rendezvous_di.testing.RendezvousOverride.install]; a whole-handler
    override reaches only code that asks the container for ``handler``.
    """

    def __init__(self, container: Any) -> None:
        self.container = container
        self._undo: list[Override | Installation] = []

    def __call__(self, replacement: Replacement, *, backend: str | None = None) -> Override:
        name = backend if backend is not None else self.container.settings().backend
        selector = self.container.backends
        if name not in selector.providers:
            from ..errors import UnknownBackendError

            raise UnknownBackendError(name, selector.providers)
        self._refuse_when_created(f"backend {name!r}")
        overriding = self._as_provider(replacement, name)
        return self._keep(Override(self.container, selector.providers[name], overriding, name))

    def handler(self, replacement: Replacement) -> Override:
        """Override the container's ``handler`` itself (the backend check is skipped)."""
        self._refuse_when_created("handler")
        inner = self._as_provider(replacement, None)
        # Thread-safe like the handler it replaces: one replacement for every thread.
        overriding = ThreadSafeResource(handler_lifecycle, handler=inner)
        return self._keep(Override(self.container, self.container.handler, overriding, "handler"))

    def install(self, names: Iterable[str] | None = None) -> Installation:
        """Put the container's backends in torch's registry until the test ends."""
        from ..registry.torch_bridge import install

        installation = install(self.container, names)
        self._undo.append(installation)
        return installation

    def undo_all(self) -> None:
        """Undo every override and installation made here, newest first."""
        while self._undo:
            item = self._undo.pop()
            if isinstance(item, Override):
                item.undo()
            else:
                item.uninstall()

    def _keep(self, override: Override) -> Override:
        self._undo.append(override)
        return override

    def _refuse_when_created(self, what: str) -> None:
        if self.container.handler.initialized:
            raise RuntimeError(
                f"cannot override {what}: the container already created its handler, "
                "which an override would not replace; override before the first "
                "container.handler() call, or call container.shutdown_resources() first"
            )

    def _as_provider(
        self, replacement: Replacement, backend: str | None
    ) -> providers.Provider[Any]:
        if isinstance(replacement, providers.Provider):
            return replacement
        params = self.container.parameters
        from .._torch import rendezvous_module

        handler_type = rendezvous_module().RendezvousHandler
        if isinstance(replacement, type):
            if not issubclass(replacement, handler_type):
                raise TypeError(
                    f"{replacement!r} is not a RendezvousHandler subclass; pass a handler "
                    "instance, a handler class, a creator (params) -> handler, or a provider"
                )
            return providers.Factory(construct_handler, replacement, params=params)
        if isinstance(replacement, handler_type):
            _check_fake_backend(replacement, backend)
            return providers.Object(replacement)
        if callable(replacement):
            return providers.Factory(call_creator, replacement, params=params)
        raise TypeError(
            f"cannot override with {replacement!r}: pass a handler instance, a handler "
            "class, a creator (params) -> handler, or a provider"
        )


def _check_fake_backend(handler: Any, backend: str | None) -> None:
    from .fake import FakeRendezvousHandler

    if backend is None or not isinstance(handler, FakeRendezvousHandler):
        return
    serves = handler.rendezvous.backend
    if serves != backend:
        raise ValueError(
            f"{handler!r} serves backend {serves!r} but would replace {backend!r}: "
            f"create it with FakeRendezvousHandler(backend={backend!r}) "
            "(the fake_rendezvous_handler fixture already serves the selected backend)"
        )
