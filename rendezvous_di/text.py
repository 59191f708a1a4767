"""Text for messages a user reads: bounded, quoted and on one line, whatever the input.

Bad input may be megabytes long, a YAML alias bomb a billion items, a plugin's
exception many lines: every message is built from these helpers so that the
error contract (one readable ``error:`` line) holds for any value. The errors
themselves live in `rendezvous_di.errors`.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable
from typing import Any

MAX_VALUE = 160
"""Characters of a quoted value an error message shows; the rest is counted, not printed."""
MAX_CHOICES = 20
"""Valid choices an error lists (a thousand installed plugins are counted, not listed)."""
MAX_MESSAGE = 1500
"""The longest error line, whatever a plugin's exception or a file put into it."""

_LONG = MAX_VALUE + 1
# A quoted value as repr() writes one: the quote opens after a non-word character and
# closes before one, so the text between two short quoted names is never taken for one.
_QUOTED = re.compile(
    rf"(?<![\w'\"])'[^'\n]{{{_LONG},}}'(?!\w)|(?<![\w'\"])\"[^\"\n]{{{_LONG},}}\"(?!\w)"
)
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def shorten(text: str, limit: int = MAX_VALUE) -> str:
    """``text`` cut to at most ``limit`` characters, saying how long it was.

    The result is never longer than ``limit``, so shortening twice changes nothing.
    """
    if len(text) <= limit:
        return text
    suffix = f"... ({len(text)} characters)"
    return text[: limit - len(suffix)] + suffix


def printable(text: str, limit: int = MAX_VALUE) -> str:
    """``text`` shortened and safe to print: undecodable bytes (lone surrogates) escaped.

    For values shown outside quotes, such as an environment variable in a
    source label: ``os.environ`` hands bytes that were not UTF-8 over as lone
    surrogates, which no output stream can encode.
    """
    return shorten(text.encode("utf-8", "backslashreplace").decode("utf-8"), limit)


class _BoundedRepr(reprlib.Repr):
    """``reprlib`` limits, plus what it does not bound: huge integers and failing ``__repr__``.

    A YAML alias bomb is a few hundred bytes that stand for a billion list
    items; ``repr()`` would walk all of them. This one looks at a few items
    of two levels and never more.
    """

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 2
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 4
        self.maxdeque = self.maxarray = 4
        self.maxstring = 40  # inside a structure; a value that is text gets MAX_VALUE
        self.maxother = self.maxlong = MAX_VALUE

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 1000:  # ~300 digits: past Python's limit repr() itself fails
            return f"<an integer of about {int(x.bit_length() * 0.30103)} digits>"
        return shorten(repr(x))

    def repr_instance(self, x: Any, level: int) -> str:
        try:
            return shorten(repr(x))
        except Exception:  # a platform's object: its __repr__ is not ours to trust
            return f"<{type(x).__name__} object>"


_BOUNDED = _BoundedRepr()


def quote(value: object) -> str:
    """``repr(value)`` for an error message, bounded in time and length whatever ``value`` is.

    Use it instead of ``{value!r}`` wherever the value came from a user, a
    file or a plugin: it looks at a few items of a structure, never all of
    them, and a huge integer is described instead of converted.
    """
    if isinstance(value, str):
        return repr(shorten(value))
    return shorten(_BOUNDED.repr(value))


def type_name(value: object) -> str:
    """The type's name, for "expected text, got int" messages."""
    return type(value).__name__


def one_line(message: str) -> str:
    """``message`` as one bounded line: line breaks folded, long quoted values cut, control
    characters shown as escapes (`visible`).

    Bad input may be megabytes long, and a plugin's exception may span lines;
    the error contract is one readable ``error:`` line either way.
    """
    text = _LINE_BREAKS.sub(" ", message)
    text = _QUOTED.sub(lambda m: m.group()[0] + shorten(m.group()[1:-1]) + m.group()[0], text)
    return shorten(visible(text), MAX_MESSAGE)


def visible(text: str) -> str:
    """``text`` with every character a terminal would act on written as its escape.

    A value may hold ``ESC [ 31 m`` (colours), ``ESC ] 0 ;`` (the window title),
    a carriage return that overwrites the line, a bidirectional override that
    reorders it: printed raw, a value could disguise itself or the lines
    around it. Each non-printable character (``str.isprintable``: controls,
    line and paragraph separators, format characters) becomes ``\\x1b``,
    ``\\u2028`` and the like; printable text of any script is kept.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def nearest(value: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``value``, or None when nothing is close.

    Used for "did you mean" hints: ``heartbeat`` -> ``heartbeat_timeout``.
    """
    pool = list(choices)
    matches = difflib.get_close_matches(value, pool, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    # A prefix is a strong hint even when the strings differ a lot in length.
    prefixed = sorted(c for c in pool if value and (c.startswith(value) or value.startswith(c)))
    return prefixed[0] if prefixed else None


def did_you_mean(value: str, choices: Iterable[str]) -> str | None:
    """The ``did you mean 'X'?`` hint for ``value`` among ``choices``; None when none is close.

    Two choices when the value begins both (``heartbeat``: ``heartbeats`` or
    ``heartbeat_timeout``): a name cut short fits either, and naming only one
    would send half the users astray.
    """
    pool = list(choices)
    close = difflib.get_close_matches(value, pool, n=2, cutoff=0.6)
    guesses = close if all(c.startswith(value) for c in close) else close[:1]
    if not guesses:
        guess = nearest(value, pool)
        guesses = [guess] if guess else []
    return f"did you mean {' or '.join(map(repr, guesses))}?" if guesses else None
