"""Testing kit: a faithful in-memory rendezvous handler and a pytest plugin.

The pytest plugin (`rendezvous_di.testing.plugin`, registered under the
``pytest11`` entry point) is active in every test session once rendezvous-di
is installed, so nothing here imports torch until a name that needs it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .fake import FakeRendezvous, FakeRendezvousHandler, RendezvousCall
    from .overrides import RendezvousOverride

_LAZY = {
    "FakeRendezvous": "fake",
    "FakeRendezvousHandler": "fake",
    "RendezvousCall": "fake",
    "RendezvousOverride": "overrides",
}

__all__ = ["FakeRendezvous", "FakeRendezvousHandler", "RendezvousCall", "RendezvousOverride"]


__getattr__ = lazy_attributes(__name__, _LAZY)
