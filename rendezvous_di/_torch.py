"""The one place that imports torch's rendezvous package.

Importing ``torch.distributed.elastic.rendezvous`` makes torch load every
``torchrun.handlers`` entry point eagerly: each plugin is imported, a broken
one costs a logged traceback, and a ``SystemExit`` inside one kills the
import. We own plugin loading (lazily, with a policy), so torch's package is
imported here with that entry-point group hidden for the duration of the
import. Torch's registry keeps its built-ins; plugins reach it only through
our bridge.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

PLUGIN_GROUP = "torchrun.handlers"
_RENDEZVOUS = "torch.distributed.elastic.rendezvous"
_lock = threading.Lock()


@contextmanager
def _torch_plugin_loading_hidden() -> Iterator[None]:
    import importlib.metadata  # here, not at the top: torch needs it, listing backends does not

    original = importlib.metadata.entry_points

    def entry_points_without_torchrun_handlers(**params: Any) -> Any:
        if params.get("group") == PLUGIN_GROUP:
            return importlib.metadata.EntryPoints(())
        return original(**params)

    importlib.metadata.entry_points = entry_points_without_torchrun_handlers
    try:
        yield
    finally:
        importlib.metadata.entry_points = original
        registry = sys.modules.get(f"{_RENDEZVOUS}.registry")
        # registry.py bound the name at import time: give it the real function back.
        if registry is not None and getattr(registry, "entry_points", None) is (
            entry_points_without_torchrun_handlers
        ):
            registry.entry_points = original  # type: ignore[attr-defined]


def rendezvous_module() -> ModuleType:
    """Import ``torch.distributed.elastic.rendezvous`` without torch's plugin loading.

    When torch's package was already imported by someone else, it is
    returned as is: its plugins were loaded by torch then, which we cannot undo.
    """
    module = sys.modules.get(_RENDEZVOUS)
    if module is not None:
        return module
    with _lock:
        if _RENDEZVOUS not in sys.modules:
            with _torch_plugin_loading_hidden():
                importlib.import_module(_RENDEZVOUS)
    return sys.modules[_RENDEZVOUS]


def loaded_rendezvous_module() -> ModuleType | None:
    """Torch's rendezvous package if someone already imported it, else None; never imports."""
    return sys.modules.get(_RENDEZVOUS)


def rendezvous_registry_module() -> ModuleType:
    """Torch's ``registry`` module, home of the built-in creators."""
    rendezvous_module()
    return importlib.import_module(f"{_RENDEZVOUS}.registry")
