"""Value grammars shared by every source and every backend option: one implementation each.

A boolean means the same in a YAML file, a PET_* variable, a torchrun flag
and a backend option; ``${VAR}`` expands the same way wherever it appears;
a fresh run id is made in one place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..text import quote

TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")
"""What torch's ``RendezvousParameters.get_as_bool`` accepts, case-insensitively: a value
that torch would read one way must never be read another way here."""


class _FreshRunId(str):
    """The type of `FRESH_RUN_ID`: a placeholder no setting a user writes can be."""


FRESH_RUN_ID = _FreshRunId("<fresh>")
"""Placeholder run id that ``--standalone`` sets; the resolver replaces it with a fresh id
that stays the same for the life of the container (or command) resolving it. Told apart
by its type, not its text: a run id a user writes as ``<fresh>`` is that run id."""


def is_fresh_placeholder(run_id: object) -> bool:
    """Whether ``run_id`` is `FRESH_RUN_ID` (not merely text that reads the same)."""
    return isinstance(run_id, _FreshRunId)


ENV_REFERENCE = re.compile(r"\$\{(\w+)(?::([^}]*))?\}")
"""``${VAR}`` and ``${VAR:default}``, as dependency-injector's ``Configuration.from_yaml``
expands them, so one file works with both."""


def parse_bool(value: Any, field: str, source: str | None = None) -> bool:
    """A boolean from a bool, 0/1 or one of torch's words; anything else names ``field``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ConfigError(
        field,
        value,
        f"{quote(value)} is not a boolean",
        choices=TRUE_WORDS + FALSE_WORDS,
        source=source,
    )


MAX_INTEGER = 2**63 - 1
"""The largest integer any option takes: what torch's C++ side (a ``long``) can hold."""
MAX_NUMBER_TEXT = 40
"""Characters of a number written as text; longer is a paste accident, and Python's
``int()`` refuses past 4300 digits with a ValueError that names nothing."""
_INTEGER_TEXT = re.compile(r"[+-]?[0-9][0-9_]*")


def parse_number(
    value: Any, field: str, *, integer: bool, source: str | None = None
) -> int | float:
    """An int (``integer``) or a finite float from a number or its text, or a ConfigError.

    One grammar for every numeric setting and option, whatever its source.
    A float is never truncated to an integer (``join_timeout: 1.5``, ``--nnodes
    2.0``): torch's ``get_as_int`` refuses ``"1.5"`` too. Non-finite values
    (``nan``, ``inf``, ``1e400``) and integers past `MAX_INTEGER` are
    refused here rather than overflowing inside torch.
    """
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise ConfigError(field, value, f"expected {kind}, got a boolean", source=source)
    number: int | float
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT:
            problem = f"{quote(value)} is not {kind} (longer than {MAX_NUMBER_TEXT} characters)"
            raise ConfigError(field, value, problem, source=source)
        if integer and not _INTEGER_TEXT.fullmatch(text):
            hint = "write a whole number" if _looks_like_float(text) else None
            raise ConfigError(
                field, value, f"{quote(value)} is not {kind}", hint=hint, source=source
            )
        try:
            number = int(text) if integer else float(text)
        except ValueError:
            raise ConfigError(
                field, value, f"{quote(value)} is not {kind}", source=source
            ) from None
    elif isinstance(value, int):
        number = value if integer else _as_float(value, field, source)
    elif isinstance(value, float):
        if integer:
            raise ConfigError(
                field,
                value,
                f"{quote(value)} is not {kind} (a float is not truncated)",
                hint="write a whole number",
                source=source,
            )
        number = value
    else:
        raise ConfigError(
            field, value, f"{quote(value)} is not {kind} ({type(value).__name__})", source=source
        )
    if isinstance(number, float) and not math.isfinite(number):
        raise ConfigError(field, value, f"{quote(value)} is not a finite number", source=source)
    if abs(number) > MAX_INTEGER:
        raise ConfigError(
            field, value, f"{quote(value)} is too large (at most {MAX_INTEGER})", source=source
        )
    return number


def _as_float(value: int, field: str, source: str | None) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ConfigError(field, value, f"{quote(value)} is too large", source=source) from None


def _looks_like_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def expand_references(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with every ``${VAR}`` / ``${VAR:default}`` replaced from ``environ``."""
    return ENV_REFERENCE.sub(lambda m: environ.get(m.group(1), m.group(2) or ""), text)


def referenced_names(text: str) -> tuple[str, ...]:
    """The variables ``text`` references, sorted: what a cached reading of it depends on."""
    return tuple(sorted({m.group(1) for m in ENV_REFERENCE.finditer(text)}))


def fresh_run_id() -> str:
    """A run id for a job nobody named; a container keeps one for its whole life."""
    import uuid  # with platform, ~3 ms: only when a fresh id is made

    return uuid.uuid4().hex
