"""torch's own functions, run with some of their module's global names bound otherwise.

How event-driven waiting changes torch's handler without copying its code:
the function keeps torch's code object, defaults and closure; only the
globals it looks names up in are a copy of its module's with the given
names replaced. The module, the class and every other handler stay torch's.
"""

from __future__ import annotations

import types
from typing import Any


def rebound(function: types.FunctionType, **names: Any) -> types.FunctionType:
    """torch's ``function`` itself, its global ``names`` bound to the values given."""
    namespace = dict(function.__globals__)
    namespace.update(names)
    copy = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    return copy
