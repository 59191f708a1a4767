"""Value grammars shared by every source and every backend option: one implementation each.

A boolean means the same in a YAML file, a PET_* variable, a torchrun flag
and a backend option; ``${VAR}`` expands the same way wherever it appears;
a fresh run id is made in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")
"""What torch's ``RendezvousParameters.get_as_bool`` accepts, case-insensitively: a value
that torch would read one way must never be read another way here."""

FRESH_RUN_ID = "<fresh>"
"""Placeholder run id that ``--standalone`` sets; the resolver replaces it with a fresh id
that stays the same for the life of the container (or command) resolving it."""

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
        field, value, f"{value!r} is not a boolean", choices=TRUE_WORDS + FALSE_WORDS, source=source
    )


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
