"""``BackendEntry``: what every entry of the container's backends Selector is.

An entry pairs what is known about a backend (its `BackendDescription`, or
the `ClaimedName` that decides who serves a plugin-claimed name) with the
provider that creates its handler.
Listing, validation and probing read ``entry.describe(policy)``; nobody has
to guess an entry's kind from the function it calls.

It is a dependency-injector provider like any other: overriding
``container.backends.providers[name]`` stacks on the entry, so the override
reaches the handler and torch's registry bridge while the description (and
with it the option validation) stays the backend's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from ..backends.description import BackendDescription

if TYPE_CHECKING:
    from ..config.policy import PluginPolicy
    from .claims import ClaimedName


class BackendEntry(providers.Provider[Any]):
    """A backend in the Selector: ``about`` describes it, ``creates`` makes its handler.

    Called with ``params=RendezvousParameters`` by torch's registry bridge;
    ``creates`` declares the container's parameters for direct use.
    """

    def __init__(self, about: BackendDescription | ClaimedName, creates: Any) -> None:
        self.about = about
        self.creates = creates
        super().__init__()

    @property
    def name(self) -> str:
        return self.about.name

    @property
    def claim(self) -> ClaimedName | None:
        """The claimed name behind this entry, or None for a backend of fixed origin."""
        return None if isinstance(self.about, BackendDescription) else self.about

    def describe(
        self, policy: PluginPolicy, sources: Mapping[str, str] | None = None
    ) -> BackendDescription:
        """The description that applies under ``policy``.

        A name plugins claim is described by whoever serves it (the built-in,
        or the one usable plugin, loaded to read its declared options, unless
        this entry is overridden: then the replacement answers and the plugin
        is not imported for it).

        Raises:
            PluginSelectionError: no one may serve the name (denied, conflict).
        """
        if isinstance(self.about, BackendDescription):
            return self.about
        return self.about.describe(policy, sources, load=not self.overridden)

    def __deepcopy__(self, memo: dict[Any, Any] | None = None) -> BackendEntry:
        memo = {} if memo is None else memo
        copied = memo.get(id(self))
        if copied is not None:
            return copied  # type: ignore[no-any-return]
        copied = type(self)(self.about, providers.deepcopy(self.creates, memo))
        self._copy_overridings(copied, memo)
        return copied

    @property
    def related(self) -> Iterator[Any]:
        yield self.creates
        yield from super().related

    def _provide(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.creates(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<BackendEntry {self.name!r} ({self._origin()}) at {hex(id(self))}>"

    def _origin(self) -> str:
        return (
            self.about.origin
            if isinstance(self.about, BackendDescription)
            else "claimed by plugins"
        )
