"""A RendezvousContainer subclass with backends of its own, loaded by file path in tests."""

from dependency_injector import containers, providers

from rendezvous_di import RendezvousContainer, add_backend


@containers.copy(RendezvousContainer)
class Own(RendezvousContainer):
    """Subclassing: ``@containers.copy`` gives the subclass its own Selector to add to."""


add_backend(Own, "own", providers.Factory(lambda params: None, params=Own.parameters))
add_backend(
    Own,
    "zoned",
    providers.Factory(lambda params: None, params=Own.parameters),
    options={
        "zone": {"type": "str", "default": "a", "help": "placement zone", "choices": ["a", "b"]},
        "spare_nodes": {"type": "int", "default": 0, "help": "standby nodes", "minimum": 0},
        "strict": {"type": "bool", "default": True, "help": "refuse late nodes"},
    },
)
