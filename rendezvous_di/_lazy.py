"""Package attributes imported on first use (PEP 562), so importing a package stays cheap.

``import rendezvous_di`` must import neither torch nor dependency-injector, and
``rendezvous_di.testing`` is loaded by pytest for every session: both name
their public objects here and import the defining module only when asked.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_attributes(
    package: str, modules: Mapping[str, str], *, deprecated: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` comes from submodule ``modules[name]``.

    ``deprecated`` maps old names to the names that replaced them: the old one
    still works, with a DeprecationWarning saying what to import instead.
    """
    renamed = deprecated or {}

    def __getattr__(name: str) -> Any:
        if name in renamed:
            warnings.warn(
                f"{package}.{name} is deprecated: use {package}.{renamed[name]}",
                DeprecationWarning,
                stacklevel=2,
            )
            return __getattr__(renamed[name])
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    return __getattr__
