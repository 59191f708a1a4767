"""Names that moved when the package got its folders, importable from their old paths.

Each old module path is a few lines that import its names from their new
home and warn once with the new import line, so code written against the
previous layout keeps working while it is updated.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

from ._lazy import lazy_attributes


def moved_attributes(old: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``old``: ``name`` comes from module ``names[name]``, warned."""
    resolve = lazy_attributes("rendezvous_di", names)

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old}.{name} moved: use `from rendezvous_di import {name}`",
            DeprecationWarning,
            stacklevel=2,
        )
        return resolve(name)

    return __getattr__
