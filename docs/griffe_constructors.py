"""Griffe extension: a signature for every class of the reference, as Python calls it.

mkdocstrings takes a class's signature from its ``__init__``, so two kinds of
public class showed none: ``RendezvousContainer``, which dependency-injector
builds in ``__new__`` (its ``__init__`` is never called), and an exception with
no constructor of its own (``RendezvousDIError``), which takes what
``BaseException`` takes. For those this gives the class the ``__init__``
Python effectively calls, read from the code, not written by hand.
"""

from __future__ import annotations

import builtins
from typing import Any

import griffe


def _is_builtin_exception(base: object) -> bool:
    kind = getattr(builtins, str(base), None)
    return isinstance(kind, type) and issubclass(kind, BaseException)


def _constructor(cls: griffe.Class) -> griffe.Function | None:
    members = cls.all_members
    if "__init__" in members:
        return None
    if "__new__" in members:
        new = members["__new__"]
        parameters = list(new.parameters) if isinstance(new, griffe.Function) else []
    elif any(_is_builtin_exception(base) for base in cls.bases):
        first = griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
        rest = griffe.Parameter(
            "args", annotation="object", kind=griffe.ParameterKind.var_positional
        )
        parameters = [first, rest]
    else:
        return None
    return griffe.Function(
        "__init__", lineno=cls.lineno, parameters=griffe.Parameters(*parameters), returns="None"
    )


def _classes(obj: griffe.Object) -> list[griffe.Class]:
    found = []
    for member in obj.members.values():
        if member.is_alias or not isinstance(member, (griffe.Module, griffe.Class)):
            continue
        if isinstance(member, griffe.Class):
            found.append(member)
        found.extend(_classes(member))
    return found


class ConstructorSignatures(griffe.Extension):
    """Adds the effective ``__init__`` to classes whose constructor is elsewhere."""

    def on_package(self, *, pkg: griffe.Module, **_: Any) -> None:
        for cls in _classes(pkg):
            constructor = _constructor(cls)
            if constructor is not None:
                cls.set_member("__init__", constructor)
