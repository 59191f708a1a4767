"""A RendezvousContainer subclass with a backend of its own, loaded by file path in tests."""

from dependency_injector import containers, providers

from rendezvous_di import RendezvousContainer
from rendezvous_di.extend import add_backend


@containers.copy(RendezvousContainer)
class Own(RendezvousContainer):
    """Subclassing: ``@containers.copy`` gives the subclass its own Selector to add to."""


add_backend(Own, "own", providers.Factory(lambda params: None, params=Own.parameters))
