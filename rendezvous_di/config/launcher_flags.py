"""torchrun's own flags that are not rendezvous settings, checked before torch is imported.

torch checks ``--nproc-per-node 0`` only once the rendezvous store is up
(an ``AssertionError`` from its ``WorkerSpec``), and ``--max-restarts -1``
after its 1.3 s import. We refuse both at once, with the flag and the value's
source (the flag wins over its ``PET_*`` twin, as in torch), and raise the
class torch raises (`rendezvous_di.errors.LauncherFlagError` is an
``AssertionError`` too; an unknown device word stays torch's ``ValueError``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from ..errors import ConfigError, LauncherFlagError

NPROC_WORDS = ("auto", "cpu", "gpu", "xpu")
"""The words torch's ``--nproc-per-node`` knows besides a number (plus a privateuse1
backend's name, which only torch can tell; it decides about other words)."""

_INTEGER = re.compile(r"[+-]?\d+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_DIGITS = 9


class FlagValue(NamedTuple):
    """A launcher flag's effective text and where it came from."""

    text: str
    source: str


def effective(
    given: object, flag: str, env_name: str, environ: Mapping[str, str]
) -> FlagValue | None:
    """The flag's value, else its ``PET_*`` twin's (torch's ``env`` action), else None."""
    if given is not None:
        return FlagValue(str(given), f"flag {flag}")
    value = environ.get(env_name)
    if value:
        return FlagValue(value, f"env {env_name}")
    return None


def check_nproc_per_node(value: FlagValue | None) -> None:
    """A whole number >= 1, or a device word (``auto``, ``cpu``, ``gpu``, ``xpu``...)."""
    if value is None:
        return
    text = value.text.strip()
    if _INTEGER.fullmatch(text):
        if len(text.lstrip("+-")) > _MAX_DIGITS or int(text) < 1:
            raise LauncherFlagError(
                "nproc_per_node",
                value.text,
                f"must be a whole number from 1 to {10**_MAX_DIGITS - 1}",
                choices=NPROC_WORDS,
                hint="or a device word",
                source=value.source,
            )
        return
    if not _WORD.fullmatch(text):
        raise ConfigError(
            "nproc_per_node",
            value.text,
            f"{value.text!r} is neither a whole number nor a device word",
            choices=NPROC_WORDS,
            source=value.source,
        )


def check_max_restarts(value: FlagValue | None) -> None:
    """A whole number >= 0 (a flag's other text is refused by the parser, as by torch's)."""
    if value is None:
        return
    text = str(value.text).strip()
    if not _INTEGER.fullmatch(text):
        raise ConfigError(
            "max_restarts", value.text, f"{value.text!r} is not a whole number", source=value.source
        )
    if int(text) < 0:
        raise LauncherFlagError("max_restarts", value.text, "must be >= 0", source=value.source)


def check_module_without_python(module: bool, no_python: bool) -> None:
    """torch refuses ``--module`` with ``--no-python`` (a ``ValueError``): say so first."""
    if module and no_python:
        raise ConfigError(
            "module",
            True,
            "--module runs the script with 'python -m', --no-python runs it without python",
            hint="give only one of them",
            source="flag --module/--no-python (or PET_MODULE/PET_NO_PYTHON)",
        )


def env_flag(given: bool | None, env_name: str, environ: Mapping[str, str]) -> bool:
    """A no-value flag as torch's ``check_env`` reads it: given, else ``PET_X`` as 0/1."""
    if given:
        return True
    text = environ.get(env_name, "0").strip() or "0"
    return text.lstrip("+-").isdigit() and int(text) != 0
