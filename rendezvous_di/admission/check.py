"""`AdmissionCheck`: one check as the container holds it, whatever its origin.

A check is a plain callable ``check(options, context)`` with optional plain
attributes, so a plugin needs no import of rendezvous-di:

- ``admission_kind``: ``"node"`` (default) or ``"group"``;
- ``admission_options``: its options in the ``rendezvous_options`` format
  (name -> ``type``, ``default``, ``help``, optional ``choices``,
  ``minimum``, ``maximum``): validated, converted and listed like a backend's;
- ``admission_timeout``: seconds it may take (default 60; the ``timeout``
  option overrides it per job);
- ``admission_summary``: one line for the listing (else the docstring's first line).

Node checks get ``context`` with ``node``, ``cwd``, ``tmpdir`` and
``local_addr``; group checks get, in addition, the round's ``store``,
``rank``, ``world_size`` and ``nodes`` (each rank's node name).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..backends.options import (
    DeclarationError,
    OptionSchema,
    OptionSpec,
    schema_from_declaration,
)
from ..errors import ConfigError
from ..text import did_you_mean, quote

Kind = Literal["node", "group"]
KINDS: tuple[Kind, ...] = ("node", "group")
DEFAULT_TIMEOUT = 60.0
CheckFunction = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]


def timeout_option(default: float) -> OptionSpec:
    """Every check takes ``timeout``: past it, the check is stopped and reported as an error."""
    return OptionSpec(
        "timeout",
        "float",
        default,
        "seconds the check may take; past it, it is stopped and reported as an error",
        minimum=0.1,
        maximum=86400,
    )


@dataclass(frozen=True)
class AdmissionCheck:
    """A check: its name, kind, options and how to run it.

    ``target`` (``module:attr``) lets the check run in a child process, where
    a hang or a crash cannot take the agent down; a check known only as a
    Python object (``function``) runs in a thread of the agent instead, still
    bounded by its timeout.
    """

    name: str
    kind: Kind
    schema: OptionSchema
    summary: str = ""
    origin: str = "container"
    function: CheckFunction | None = field(default=None, compare=False, repr=False)
    target: str | None = None
    distribution: str | None = None

    @property
    def default_timeout(self) -> float:
        spec = self.schema.get("timeout")
        return float(spec.default) if spec is not None and spec.default else DEFAULT_TIMEOUT

    def convert_options(self, raw: Mapping[str, Any], source: str | None = None) -> dict[str, Any]:
        """``raw`` options converted; every declared option filled with its default.

        Raises:
            ConfigError: ``admission.NAME.OPTION`` named, with the valid choices.
        """
        converted: dict[str, Any] = {}
        for key, value in raw.items():
            where = f"admission.{self.name}.{key}"
            spec = self.schema.get(str(key))
            if spec is None:
                raise ConfigError(
                    where,
                    value,
                    f"check {self.name!r} has no option {quote(key)}",
                    choices=self.schema.names,
                    hint=did_you_mean(str(key), self.schema.names),
                    source=source,
                )
            try:
                converted[spec.name] = spec.convert(value, check_files=False)
            except ConfigError as error:
                raise ConfigError(
                    where, value, error.problem, choices=error.choices, source=source
                ) from None
        for spec in self.schema.options:
            if spec.name not in converted:
                if spec.required:
                    raise ConfigError(
                        f"admission.{self.name}.{spec.name}",
                        None,
                        f"check {self.name!r} requires this option ({spec.help})",
                    )
                converted[spec.name] = spec.default
        return {spec.name: converted[spec.name] for spec in self.schema.options}


def check_schema(name: str, declared: Any, timeout: Any = None) -> OptionSchema:
    """The options a check declares, plus ``timeout`` (its default the check's own).

    Raises:
        DeclarationError: the declaration or the timeout is not valid.
    """
    default = DEFAULT_TIMEOUT if timeout is None else timeout
    if (
        isinstance(default, bool)
        or not isinstance(default, int | float)
        or not (math.isfinite(default) and default > 0)
    ):
        raise DeclarationError(
            f"admission_timeout must be a positive number of seconds, got {quote(timeout)}",
            "admission_timeout",
        )
    base = schema_from_declaration(name, {} if declared is None else declared)
    options = [o for o in base.options if not o.launcher]
    if not any(o.name == "timeout" for o in options):
        options.append(timeout_option(float(default)))
    return OptionSchema(name, tuple(options))


def from_callable(
    name: str,
    function: Any,
    *,
    origin: str = "container",
    target: str | None = None,
    distribution: str | None = None,
) -> AdmissionCheck:
    """An `AdmissionCheck` from a callable and its ``admission_*`` attributes.

    Raises:
        DeclarationError: not callable, an unknown kind, invalid options or timeout.
    """
    if isinstance(function, AdmissionCheck):
        return function
    if not callable(function):
        raise DeclarationError(f"{quote(function)} is not callable; a check is a callable")
    try:
        kind = getattr(function, "admission_kind", "node")
        declared = getattr(function, "admission_options", None)
        timeout = getattr(function, "admission_timeout", None)
        summary = getattr(function, "admission_summary", None) or _first_line(function)
    except Exception as error:  # third-party attributes: one odd check must not end a command
        raise DeclarationError(
            f"reading its admission_* attributes raised {type(error).__name__}: {error}"
        ) from error
    if kind not in KINDS:
        raise DeclarationError(
            f"admission_kind is {quote(kind)}; valid kinds: {', '.join(KINDS)}", "admission_kind"
        )
    return AdmissionCheck(
        name=name,
        kind=kind,
        schema=check_schema(name, declared, timeout),
        summary=str(summary),
        origin=origin,
        function=function,
        target=target,
        distribution=distribution,
    )


def _first_line(function: Any) -> str:
    doc = getattr(function, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
