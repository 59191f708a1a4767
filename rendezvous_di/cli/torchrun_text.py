"""The effective rendezvous in torchrun's words, for ``run --dry-run`` and ``config --format env``.

Both print ``PET_*`` lines and ``#`` notes on what plain torchrun cannot do
with them; the lines and the notes are made here once.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..config.policy import DISABLE_AUTOLOAD_ENV
from ..config.torchrun_values import TorchrunRendezvous, policy_notes, torchrun_rendezvous


def shell_quote(text: str) -> str:
    """``shlex.quote``, or bash's ``$'...'`` with escapes for text holding control characters.

    The line is for a person to read and paste: a raw escape character inside
    single quotes would reach their terminal (and act on it) before the shell.
    ``$'\\x1b'`` gives bash and zsh the same value, visibly.
    """
    if text.isprintable():
        return shlex.quote(text)
    return "$'" + "".join(_escape(ch) for ch in text) + "'"


def _escape(ch: str) -> str:
    """One character inside bash's ``$'...'``."""
    if ch in "\\'":
        return "\\" + ch
    if ch.isprintable():
        return ch
    code = ord(ch)
    if code < 0x80:  # above, \\xHH would be a raw byte, not the character
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shell_join(words: list[str]) -> str:
    """``shlex.join`` with `shell_quote`."""
    return " ".join(shell_quote(word) for word in words)


def env_line(name: str, value: str) -> str:
    """``NAME=value`` with the value shell-quoted, ready for a shell or an env file."""
    return f"{name}={shell_quote(value)}\n"


def rendezvous_and_notes(
    settings: Any, description: Any, container_spec: str | None, *, show_secrets: bool
) -> tuple[TorchrunRendezvous, list[str]]:
    """The rendezvous as torchrun values, and every note about them (backend first)."""
    rendezvous = torchrun_rendezvous(settings, show_secrets=show_secrets)
    notes = [
        *backend_notes(description, container_spec),
        *rendezvous.notes,
        *policy_notes(settings),
    ]
    if settings.admission:
        from ..config.admission import as_text

        notes.append(
            f"admission checks: {as_text(settings.admission)} (run before workers start; plain "
            "torchrun runs none, rendezvous-di reads PET_ADMISSION)"
        )
    if not settings.plugins.autoload:
        notes.append(
            "plugins.autoload is off: plain torchrun loads every installed plugin; "
            f"rendezvous-di reads {DISABLE_AUTOLOAD_ENV}=1"
        )
    return rendezvous, notes


def backend_notes(description: Any, container_spec: str | None) -> list[str]:
    """What plain torchrun needs to know the selected backend (nothing for torch's built-ins)."""
    name = description.name
    if description.origin == "plugin":
        from ..backends.builtin import BUILTIN_BACKENDS

        distribution = description.distribution or "its distribution"
        if name in BUILTIN_BACKENDS:
            return [
                f"backend {name!r} is served by a plugin of {distribution!r} in place of "
                f"torch's built-in (plugins.override_builtins): plain torchrun would use "
                "its built-in, since a plugin never replaces one there"
            ]
        return [
            f"backend {name!r} is a torchrun.handlers plugin of {distribution!r}: plain "
            "torchrun finds it only where that distribution is installed"
        ]
    if description.origin == "container":
        where = f" --container {shlex.quote(container_spec)}" if container_spec else ""
        return [
            f"backend {name!r} is declared in the container, not known to plain torchrun: "
            f"run it with 'rendezvous-di run{where}' and these settings"
        ]
    if description.origin == "torch-registry":
        return [
            f"backend {name!r} was registered on torch's registry in this process: plain "
            "torchrun knows it only where the same code registers it"
        ]
    return []


def env_text(
    settings: Any, description: Any, container_spec: str | None, *, show_secrets: bool
) -> str:
    """``rendezvous-di config --format env``: PET_* lines (our own variable for autoload)."""
    rendezvous, notes = rendezvous_and_notes(
        settings, description, container_spec, show_secrets=show_secrets
    )
    lines = ["# rendezvous-di config --format env: the effective settings as torchrun's PET_*\n"]
    lines += [f"# {note}\n" for note in notes]
    lines += [env_line(*value.env_item()) for value in rendezvous.values]
    if not settings.plugins.autoload:
        lines.append(env_line(DISABLE_AUTOLOAD_ENV, "1"))
    if settings.admission:
        from ..config.admission import as_text
        from ..config.sources import ADMISSION_ENV

        lines.append(env_line(ADMISSION_ENV, as_text(settings.admission)))
    return "".join(lines)
