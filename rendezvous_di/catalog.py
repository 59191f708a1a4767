"""What the container offers: one :class:`BackendInfo` per entry of its backends Selector.

Listing never imports torch or a backend's dependencies: built-ins are
described by their static spec and dependency checks use ``find_spec``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .backends import BUILTIN_BACKENDS, builtin_handler
from .options import OptionSpec


@dataclass(frozen=True)
class BackendInfo:
    """One selectable backend as ``rendezvous-di backends`` shows it.

    ``source`` is ``builtin`` (torch's own creator) or ``container`` (a
    provider a platform declared in code). ``status`` is ``available`` or
    ``missing dependency``, with ``reason`` saying what to install.
    """

    name: str
    source: str
    status: str
    summary: str
    options: tuple[OptionSpec, ...] = ()
    reason: str | None = None
    distribution: str | None = None
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"] = [
            {
                "name": o.name,
                "type": o.type_name,
                "default": o.default,
                "help": o.help,
                "required": o.required,
                "set_by_launcher": o.launcher,
            }
            for o in self.options
        ]
        return data


def describe_backends(container: Any) -> list[BackendInfo]:
    """Every backend the container's Selector offers, sorted by name."""
    infos = []
    for name, provider in sorted(container.backends.providers.items()):
        builtin = BUILTIN_BACKENDS.get(name)
        if builtin is not None and getattr(provider, "provides", None) is builtin_handler:
            missing = builtin.missing_dependency()
            infos.append(
                BackendInfo(
                    name=name,
                    source="builtin",
                    status="missing dependency" if missing else "available",
                    summary=builtin.summary,
                    options=builtin.schema.options,
                    reason=(
                        f"needs {missing[0]!r}: pip install 'rendezvous-di[{missing[1]}]'"
                        if missing
                        else None
                    ),
                    distribution="torch",
                )
            )
        else:
            infos.append(
                BackendInfo(
                    name=name, source="container", status="available", summary="declared in code"
                )
            )
    return infos
