"""torch's rendezvous event records, named without reading every frame's source file.

Every ``_record`` of torch's dynamic rendezvous (the handler's, the op
executor's, the state holder's) names its event with ``get_method_name()``,
which calls ``inspect.stack()`` twice. It does so before torch checks
whether any handler takes rendezvous events at all (by default none does),
and ``inspect.stack()`` reads the source context of every frame on the
stack: a ``stat`` per frame, and the file when it changed. On this
project's sandbox one record cost 10 to 20 ms. A join records twice
between reading the state and writing it, so with the turnstile, where the
joins of a forming group follow one another, those records were most of
each turn (`docs/benchmarks.md`).

Here the same ``_record`` runs with ``get_method_name`` answered from the
frame itself: the same name (the function ``depth`` frames up), the same
event when a handler takes them, no file read. Only event-driven handlers
get it; ``sync=poll`` stays torch's code exactly. A torch whose records are
named otherwise keeps its own ``_record`` (this is speed, not behaviour).
"""

from __future__ import annotations

import functools
import sys
import types
import weakref
from typing import Any

from .rebinding import rebound

NAMER = "get_method_name"
"""The global torch's ``_record`` methods name their events with."""


def method_name(depth: int = 2) -> str:
    """torch's ``get_method_name``: the name of the function ``depth`` frames up.

    Frame 0 is this function, as ``inspect.stack()[0]`` is torch's; 1 is the
    ``_record`` calling it, 2 the method that records.
    """
    try:
        return sys._getframe(depth).f_code.co_name
    except ValueError:  # a stack not that deep, as torch's length check
        return "no_method_name"


def name_records_cheaply(*owners: Any) -> None:
    """Give each of ``owners`` (torch's handler, op executor, state holder) a ``_record``
    whose ``get_method_name`` is `method_name`; owners without torch's are left alone."""
    for owner in owners:
        record = getattr(type(owner), "_record", None)
        if not isinstance(record, types.FunctionType) or NAMER not in record.__code__.co_names:
            continue
        # Held weakly, as the other instance attributes of `executor.attach`: a cycle
        # would keep the store until a garbage collection.
        owner._record = functools.partial(
            rebound(record, **{NAMER: method_name}), weakref.proxy(owner)
        )
