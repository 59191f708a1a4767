"""``module:attr`` to the object it names, as an entry point is loaded."""

from __future__ import annotations

from typing import Any


def load_target(target: str) -> Any:
    from ..plugins.entry_points import InstalledEntryPoint

    return InstalledEntryPoint(target, target, "rendezvous_di.checks").load()
