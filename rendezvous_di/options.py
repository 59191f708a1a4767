"""Backend option schemas: what each ``conf`` key means and how it is converted.

torchrun hands every option to the backend as a string and torch reads them
lazily, ignoring keys it does not know; a misspelt ``heartbeat`` silently
keeps the 5 s default. A schema lets us reject unknown keys with a
suggestion, convert values to the types torch reads, and document every
option from one source (CLI listing and docs both render it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .errors import ConfigError, UnknownOptionError

OptionKind = Literal["int", "bool", "str", "choice", "file"]

_TRUE = frozenset({"1", "true", "t", "yes", "y"})
_FALSE = frozenset({"0", "false", "f", "no", "n"})


@dataclass(frozen=True)
class OptionSpec:
    """One option a backend reads from ``RendezvousParameters.config``.

    ``default`` documents torch's own default; it is never injected, so the
    parameters we build stay exactly what the user gave. ``launcher`` marks
    options torch's launcher passes on its own (``timeout``, ``rank``) that a
    backend may ignore: rejecting them would break every torchrun job.
    """

    name: str
    kind: OptionKind
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    required: bool = False
    launcher: bool = False

    @property
    def type_name(self) -> str:
        return "|".join(self.choices) if self.kind == "choice" else self.kind

    def convert(self, value: Any, *, check_files: bool = True) -> Any:
        """Convert a raw value (often a string from torchrun) to the type torch reads.

        ``check_files`` is off when the configuration is only being inspected,
        possibly on another machine than the one that will run the job.
        """
        where = f"conf.{self.name}"
        if self.kind == "int":
            return self._convert_int(value, where)
        if self.kind == "bool":
            return _convert_bool(value, where)
        text = value if isinstance(value, str) else None
        if text is None:
            raise ConfigError(where, value, f"expected a string, got {type(value).__name__}")
        if self.kind == "choice":
            lowered = text.strip().lower()
            if lowered not in self.choices:
                raise ConfigError(where, value, f"{value!r} is not valid", choices=self.choices)
            return lowered
        if self.kind == "file" and check_files and not os.path.isfile(text):
            raise ConfigError(where, value, f"file {text!r} does not exist")
        return text

    def _convert_int(self, value: Any, where: str) -> int:
        if isinstance(value, bool):
            raise ConfigError(where, value, "expected an integer, got a boolean")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(where, value, f"{value!r} is not an integer") from None
        if self.minimum is not None and number < self.minimum:
            raise ConfigError(where, value, f"must be >= {self.minimum}, got {number}")
        return number


def _convert_bool(value: Any, where: str) -> bool:
    """Accept exactly what torch's ``RendezvousParameters.get_as_bool`` accepts."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ConfigError(where, value, f"{value!r} is not a boolean", choices=sorted(_TRUE | _FALSE))


class CrossCheck(Protocol):
    """A rule over several options at once (TLS: a key needs a certificate)."""

    def check(
        self, conf: Mapping[str, Any], *, check_files: bool, sources: Mapping[str, str]
    ) -> None: ...


@dataclass(frozen=True)
class OptionSchema:
    """The options one backend reads, in display order, and the rules that span several."""

    backend: str
    options: tuple[OptionSpec, ...] = field(default_factory=tuple)
    checks: tuple[CrossCheck, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {o.name: o for o in self.options})

    def get(self, name: str) -> OptionSpec | None:
        by_name: dict[str, OptionSpec] = self._by_name  # type: ignore[attr-defined]
        return by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)

    def validate(
        self,
        conf: Mapping[str, Any],
        *,
        require: bool = True,
        check_files: bool = True,
        sources: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Return ``conf`` converted; reject unknown keys and bad values.

        ``require`` is off when torch's launcher will add the missing value
        itself (static's ``rank`` comes from ``--node-rank``).
        """
        converted: dict[str, Any] = {}
        for key, raw in conf.items():
            source = (sources or {}).get(f"conf.{key}")
            spec = self.get(key)
            if spec is None:
                raise UnknownOptionError(self.backend, key, self.names, source=source)
            try:
                converted[key] = spec.convert(raw, check_files=check_files)
            except ConfigError as error:
                raise error.with_source(source) from None
        if require:
            for spec in self.options:
                if spec.required and spec.name not in converted:
                    raise ConfigError(
                        f"conf.{spec.name}",
                        None,
                        f"backend {self.backend!r} requires this option ({spec.help})",
                    )
        for rule in self.checks:
            rule.check(converted, check_files=check_files, sources=sources or {})
        return converted
