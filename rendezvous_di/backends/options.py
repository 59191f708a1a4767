"""Backend option schemas: what each ``conf`` key means and how it is converted.

torchrun hands every option to the backend as a string and torch reads them
lazily, ignoring keys it does not know; a misspelt ``heartbeat`` silently
keeps the 5 s default. A schema lets us reject unknown keys with a
suggestion, convert values to the types torch reads, and document every
option from one source (CLI listing and docs both render it).

Plugins and platform backends declare their options as a plain mapping
(`schema_from_declaration`), so a plugin needs no import of
rendezvous-di and still runs under plain torchrun.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..config.values import parse_bool, parse_number
from ..errors import ConfigError, UnknownOptionError
from ..paths import file_problem
from ..text import quote

OptionKind = Literal["int", "float", "bool", "str", "choice", "file"]
DECLARED_TYPES = ("int", "float", "bool", "str")
"""The ``type`` values a ``rendezvous_options`` declaration may use."""
DECLARATION_KEYS = ("type", "default", "help", "choices", "required", "minimum", "maximum")


@dataclass(frozen=True)
class OptionSpec:
    """One option a backend reads from ``RendezvousParameters.config``.

    ``default`` documents the backend's own default; it is never injected, so
    the parameters we build stay exactly what the user gave. ``launcher`` marks
    options torch's launcher passes on its own (``timeout``, ``rank``) that a
    backend may ignore: rejecting them would break every torchrun job.
    ``choices`` restricts the converted value (text choices compare lowercased).
    """

    name: str
    kind: OptionKind
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    launcher: bool = False

    @property
    def type_name(self) -> str:
        if self.kind == "choice":
            return "|".join(map(str, self.choices))
        return self.kind

    def convert(self, value: Any, *, check_files: bool = True) -> Any:
        """Convert a raw value (often a string from torchrun) to the type the backend reads.

        ``check_files`` is off when the configuration is only being inspected,
        possibly on another machine than the one that will run the job.
        """
        where = f"conf.{self.name}"
        if self.kind in ("int", "float"):
            converted: Any = self._number(value, where)
        elif self.kind == "bool":
            converted = parse_bool(value, where)
        elif not isinstance(value, str):
            raise ConfigError(where, value, f"expected a string, got {type(value).__name__}")
        elif self.kind == "choice":
            converted = value.strip().lower()
        else:
            converted = value
            if self.kind == "file" and not value.strip():
                raise ConfigError(where, value, "must not be empty; expected the path of a file")
            problem = file_problem(value) if self.kind == "file" and check_files else None
            if problem is not None:
                raise ConfigError(where, value, problem)
        if self.choices and converted not in self.choices:
            raise ConfigError(
                where, value, f"{quote(value)} is not valid", choices=tuple(map(str, self.choices))
            )
        return converted

    def _number(self, value: Any, where: str) -> int | float:
        number = parse_number(value, where, integer=self.kind == "int")
        if self.minimum is not None and number < self.minimum:
            raise ConfigError(where, value, f"must be >= {_bound(self.minimum)}, got {number}")
        if self.maximum is not None and number > self.maximum:
            raise ConfigError(where, value, f"must be <= {_bound(self.maximum)}, got {number}")
        return number

    def declaration(self) -> dict[str, Any]:
        """This option as a ``rendezvous_options`` entry (the plain-mapping form)."""
        kind = {"choice": "str", "file": "str"}.get(self.kind, self.kind)
        entry: dict[str, Any] = {"type": kind, "default": self.default, "help": self.help}
        if self.choices:
            entry["choices"] = list(self.choices)
        if self.required:
            entry["required"] = True
        if self.minimum is not None:
            entry["minimum"] = self.minimum
        if self.maximum is not None:
            entry["maximum"] = self.maximum
        return entry


def _bound(limit: float) -> str:
    """A limit as written (9000000000, not 9e+09): the user compares it with their digits."""
    return str(int(limit)) if float(limit).is_integer() else repr(limit)


def _article(kind: str) -> str:
    return "an integer" if kind == "int" else "a number"


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
                raise UnknownOptionError(self.backend, str(key), self.names, source=source)
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

    def declaration(self) -> dict[str, dict[str, Any]]:
        """The schema as a ``rendezvous_options`` mapping (``add_backend(..., options=...)``)."""
        return {o.name: o.declaration() for o in self.options}


MAX_SECONDS = 10**9
"""The longest timeout or interval an option takes (about 31 years): torch turns seconds
into a ``timedelta`` and C++ milliseconds, which overflow long before Python's integers."""

LAUNCHER_TIMEOUT = OptionSpec(
    "timeout",
    "int",
    900,
    "set by torch's launcher (LaunchConfig); not read by this backend",
    minimum=1,
    maximum=MAX_SECONDS,
    launcher=True,
)
"""torch's ``LaunchConfig`` adds ``timeout`` to every backend's options: every schema takes it."""


class DeclarationError(ValueError):
    """A ``rendezvous_options`` mapping that does not follow the declaration format.

    ``field`` names the part that is wrong (``rendezvous_options['rounds']['type']``).
    """

    def __init__(self, message: str, field: str = "rendezvous_options") -> None:
        super().__init__(message)
        self.field = field


DeclaredKind = Literal["int", "float", "bool", "str"]
PYTHON_TYPES: dict[object, DeclaredKind] = {int: "int", float: "float", bool: "bool", str: "str"}
"""Python's own types, as most people write a declaration (``{"type": int}``), by name."""


def declared_schema(backend: str, creator: object) -> OptionSchema | None:
    """The schema ``creator``'s ``rendezvous_options`` declare, or None when it declares none.

    The creator is third-party code: whatever reading its declaration raises
    becomes a `DeclarationError`, so one odd plugin cannot end a command.
    """
    try:
        declared = getattr(creator, "rendezvous_options", None)
        return None if declared is None else schema_from_declaration(backend, declared)
    except DeclarationError:
        raise
    except Exception as error:
        raise DeclarationError(
            f"reading rendezvous_options raised {type(error).__name__}: {error}"
        ) from error


def schema_from_declaration(backend: str, declared: Any) -> OptionSchema:
    """An `OptionSchema` from a plain ``rendezvous_options`` mapping.

    Each entry maps an option name to ``type`` (``int``, ``float``, ``bool`` or
    ``str``, by name or as Python's type itself), ``default``, ``help`` and
    optionally ``choices``, ``required``, ``minimum`` and ``maximum``.
    ``timeout`` is accepted even when not declared, because torch's launcher
    passes it to every backend.

    Raises:
        DeclarationError: naming the option and what is wrong with its entry.
    """
    if not isinstance(declared, Mapping):
        raise DeclarationError(
            f"rendezvous_options must be a mapping of option name to its description, "
            f"got {type(declared).__name__}"
        )
    specs = [_declared_option(str(name), entry) for name, entry in declared.items()]
    if not any(spec.name == LAUNCHER_TIMEOUT.name for spec in specs):
        specs.append(LAUNCHER_TIMEOUT)
    return OptionSchema(backend, tuple(specs))


def _declared_option(name: str, entry: Any) -> OptionSpec:
    where = f"rendezvous_options[{name!r}]"
    if not name.isidentifier():
        raise DeclarationError(f"{where}: an option name must be an identifier", where)
    if not isinstance(entry, Mapping):
        raise DeclarationError(
            f"{where} must be a mapping with 'type', 'default' and 'help'", where
        )
    unknown = sorted(str(k) for k in entry if k not in DECLARATION_KEYS)
    if unknown:
        raise DeclarationError(
            f"{where} has unknown key {unknown[0]!r}; valid keys: {', '.join(DECLARATION_KEYS)}",
            f"{where}[{unknown[0]!r}]",
        )
    kind = _declared_type(where, entry.get("type", "str"))
    choices = entry.get("choices") or ()
    if isinstance(choices, (str, bytes)) or not hasattr(choices, "__iter__"):
        raise DeclarationError(
            f"{where}['choices'] must be a list of values", f"{where}['choices']"
        )
    minimum, maximum = (_declared_bound(where, entry, key) for key in ("minimum", "maximum"))
    probe = OptionSpec(name, kind, None, "", minimum=minimum, maximum=maximum)
    try:  # choices are stored converted, so a str choice "Fast" matches input "fast"
        converted = tuple(c.strip().lower() if kind == "str" else probe.convert(c) for c in choices)
    except (ConfigError, AttributeError):
        raise DeclarationError(
            f"{where}['choices'] must all be of type {kind!r}", f"{where}['choices']"
        ) from None
    return OptionSpec(
        name=name,
        kind="choice" if kind == "str" and converted else kind,
        default=entry.get("default"),
        help=str(entry.get("help", "")),
        choices=converted,
        minimum=minimum,
        maximum=maximum,
        required=bool(entry.get("required", False)),
    )


def _declared_type(where: str, given: object) -> DeclaredKind:
    """``type`` by name (``"int"``) or as Python's own type (``int``), as its name."""
    try:
        named = PYTHON_TYPES.get(given)
    except TypeError:  # an unhashable value: not a type, said below
        named = None
    if named is not None:
        return named
    by_name = {name: name for name in PYTHON_TYPES.values()}
    if isinstance(given, str) and given in by_name:
        return by_name[given]
    shown = given.__name__ if isinstance(given, type) else quote(given)
    raise DeclarationError(
        f"{where}['type'] is {shown}; valid types: {', '.join(DECLARED_TYPES)} "
        "(by name, or Python's int, float, bool, str)",
        f"{where}['type']",
    )


def _declared_bound(where: str, entry: Mapping[str, Any], key: str) -> float | None:
    bound = entry.get(key)
    if bound is None:
        return None
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
        raise DeclarationError(f"{where}[{key!r}] must be a finite number", f"{where}[{key!r}]")
    return bound
