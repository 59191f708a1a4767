"""Slurm's hostlist syntax (``n[001-003],gpu[1-2]``): expanded as ``scontrol show hostnames`` does.

Slurm hands a job its nodes compressed (``SLURM_JOB_NODELIST=node[01-04]``);
torchrun users write ``scontrol show hostnames $SLURM_JOB_NODELIST | head -n1``
to find the first one. We cannot run ``scontrol`` (detection must stay cheap
and work where no Slurm configuration is readable), so this module reads the
syntax itself, following Slurm's ``src/common/hostlist.c``:

- items are separated by commas (or blanks) outside brackets; empty items are skipped;
- each ``[...]`` holds a comma list of ``N`` or ``LO-HI`` (``LO <= HI``, digits only);
  the width of ``LO`` is the zero padding (``[01-10]`` gives ``01`` ... ``10``,
  ``[1-010]`` gives ``1`` ... ``10``);
- several bracket groups multiply out (``r[1-2]n[01-02]``), in Slurm's order:
  the last group varies fastest, then the first, the second... (Slurm expands
  the prefix's rightmost group outermost, recursively);
- nothing may follow the last ``]`` of an item (Slurm refuses ``gpu[1-2]-ib``);
- one range holds at most 65536 hosts (Slurm's ``MAX_RANGE``); duplicates are kept;
- host names are ASCII: anything else is refused (undecodable bytes included).

Inputs Slurm itself never writes and ``scontrol`` reads in surprising ways
(``n[1-3`` gives ``n]``, ``n[+1-2]`` gives ``n01 n02``) are refused here.
``tests/config/test_hostlist.py`` compares this with the real ``scontrol``.

Why not a library: ``python-hostlist`` (NSC) is GPL-2.0-or-later, which a
BSD-3-Clause package should not import; it also drops duplicates by default
and says it was never compared with Slurm in corner cases. ClusterShell's
``NodeSet`` sorts the nodes, which changes which one is first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...text import quote

MAX_RANGE = 65536
"""Slurm refuses a range of more hosts (``Too many hosts in range``)."""

SEPARATORS = ", \t\n"
"""What separates items outside brackets: commas and blanks, as for Slurm."""
_RANGE = re.compile(r"([0-9]+)(?:-([0-9]+))?", re.ASCII)


class HostlistError(ValueError):
    """A hostlist Slurm would refuse (or read in a way no job ever sees)."""


def first_host(hostlist: str) -> str:
    """The first host of ``hostlist``, without expanding the rest (the c10d host on Slurm)."""
    for host in expand(hostlist):
        return host
    raise HostlistError("names no host")


def count_hosts(hostlist: str) -> int:
    """How many hosts ``hostlist`` names (duplicates counted), without expanding it."""
    total = 0
    for item in _items(hostlist):
        size = 1
        for ranges in _parse_item(item)[1]:
            size *= sum(hi - lo + 1 for lo, hi, _ in ranges)
        total += size
    return total


def expand(hostlist: str) -> Iterator[str]:
    """Every host of ``hostlist`` in Slurm's order (lazily: a job of 10,000 nodes costs nothing).

    Raises:
        HostlistError: a malformed hostlist, saying what is wrong and where.
    """
    items = list(_items(hostlist))  # parse every item first: a bad one fails before any host
    parsed = [_parse_item(item) for item in items]
    for texts, groups in parsed:
        yield from _hosts(texts, groups)


Range = tuple[int, int, int]
"""``(lo, hi, width)`` of one ``LO-HI`` (or ``N``) inside brackets."""


def _items(hostlist: str) -> Iterator[str]:
    """The top-level items: split at commas and blanks outside brackets."""
    if not hostlist.isascii():  # host names are ASCII; undecodable bytes arrive as surrogates
        bad = next(i for i, c in enumerate(hostlist) if not c.isascii())
        raise HostlistError(f"has a character that is not ASCII at position {bad}")
    depth, start = 0, 0
    for index, char in enumerate(hostlist):
        if char == "[":
            depth += 1
            if depth > 1:
                raise HostlistError(f"nested '[' at position {index}")
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise HostlistError(f"']' without '[' at position {index}")
        elif depth == 0 and char in SEPARATORS:
            if index > start:
                yield hostlist[start:index]
            start = index + 1
    if depth:
        raise HostlistError("'[' without ']'")
    if len(hostlist) > start:
        yield hostlist[start:]


def _parse_item(item: str) -> tuple[list[str], list[list[Range]]]:
    """``r[1-2]n[01-02]`` as its texts ``['r', 'n']`` and its bracket groups."""
    texts: list[str] = []
    groups: list[list[Range]] = []
    rest = item
    while "[" in rest:
        text, _, rest = rest.partition("[")
        inside, _, rest = rest.partition("]")
        texts.append(text)
        groups.append(_parse_ranges(inside, item))
    if groups and rest:
        raise HostlistError(
            f"{quote(item)} has {quote(rest)} after its last ']' (Slurm allows nothing there)"
        )
    if not groups:
        texts.append(rest)
    return texts, groups


def _parse_ranges(inside: str, item: str) -> list[Range]:
    ranges = []
    for part in inside.split(","):
        match = _RANGE.fullmatch(part)
        if match is None:
            raise HostlistError(f"{quote(part)} in {quote(item)} is not N or LO-HI with digits")
        lo_text, hi_text = match.group(1), match.group(2)
        lo, hi = int(lo_text), int(hi_text if hi_text is not None else lo_text)
        if lo > hi:
            raise HostlistError(f"{quote(part)} in {quote(item)} counts down")
        if hi - lo + 1 > MAX_RANGE:
            raise HostlistError(f"{quote(part)} in {quote(item)} has more than {MAX_RANGE} hosts")
        ranges.append((lo, hi, len(lo_text)))
    return ranges


def _numbers(ranges: list[Range]) -> Iterator[str]:
    for lo, hi, width in ranges:
        for number in range(lo, hi + 1):
            yield f"{number:0{width}d}"


def _hosts(texts: list[str], groups: list[list[Range]]) -> Iterator[str]:
    """Slurm's order: the last group innermost; the others from the rightmost (outermost) in."""
    if not groups:
        yield texts[0]
        return
    *outer, last = groups
    yield from _expand_prefix(texts, outer, last)


def _expand_prefix(texts: list[str], outer: list[list[Range]], last: list[Range]) -> Iterator[str]:
    if not outer:
        for number in _numbers(last):
            yield f"{texts[0]}{number}"
        return
    # Slurm fills the prefix's rightmost group first (outermost loop), then recurses left.
    *left, right = outer
    for number in _numbers(right):
        merged = [*texts[: len(left)], texts[len(left)] + number + texts[len(left) + 1]]
        yield from _expand_prefix(merged, left, last)
