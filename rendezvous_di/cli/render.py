"""Output for people and for pipes: aligned tables on a terminal, tab-separated text otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..text import visible


def table(rows: Sequence[Sequence[object]], headers: Sequence[str], out: TextIO) -> None:
    """Write ``rows``: padded columns under a header on a TTY, tab-separated when piped."""
    cells = [[_text(c) for c in row] for row in rows]
    if not out.isatty():
        for row in cells:
            out.write("\t".join(row) + "\n")
        return
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _text(value: object) -> str:
    """A cell: control characters escaped, so a value can neither steer the terminal nor
    add a tab or a line to a piped table."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    return visible(str(value))
