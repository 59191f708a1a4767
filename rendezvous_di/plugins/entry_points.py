"""Installed entry points of one group, read from the distributions' metadata files.

Why not `importlib.metadata`: importing it (email, zipfile, csv, ...) costs
about 20 ms, more than everything else ``rendezvous-di backends`` does. Finding
entry points needs only one directory listing per ``sys.path`` entry and one
small INI file per installed distribution, so that is what we read.

The reading follows `importlib.metadata.entry_points` where it matters,
so we see what torch sees: ``sys.path`` order, ``*.dist-info``/``*.egg-info``
directories, names normalised the same way, and the first distribution of a
name wins. Layouts that need importlib.metadata's own machinery (a zip or an
``.egg`` on ``sys.path``, or a meta-path finder with its own
``find_distributions``) are handed over to it, so the answer never differs.
An answer is reused until a ``sys.path`` directory changes (`entry_points`).
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_METADATA_SUFFIXES = (".dist-info", ".egg-info")
# importlib.metadata.EntryPoint.pattern: ``module``, ``module:attr.attr``, optional extras.
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


@dataclass(frozen=True)
class InstalledEntryPoint:
    """One entry point and the metadata directory of the distribution declaring it."""

    name: str
    value: str
    group: str
    location: str | None = None  # the ``*.dist-info``/``*.egg-info`` directory
    distribution: Any = field(default=None, repr=False, compare=False)  # importlib's, if used

    def load(self) -> Any:
        """Import the module and walk the attributes, exactly as ``EntryPoint.load`` does."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(
                f"entry point {self.name!r} = {self.value!r} is not 'module' or 'module:attr'"
            )
        module = importlib.import_module(match.group("module"))
        attrs = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, attrs, module)

    def name_and_version(self) -> tuple[str, str] | None:
        """The distribution's ``Name`` and ``Version``, or None when they cannot be read."""
        if self.distribution is not None:
            metadata = self.distribution.metadata
            return str(metadata["Name"]), str(metadata["Version"])
        return None if self.location is None else _name_and_version(self.location)


def entry_points(group: str) -> tuple[InstalledEntryPoint, ...]:
    """Every entry point of ``group`` that ``importlib.metadata.entry_points`` would return.

    The answer is kept while no ``sys.path`` directory changed (`_path_state`):
    reading every distribution's metadata costs milliseconds, and a process
    that makes a container per test or per training job would pay it each
    time, where torch reads its plugins once per process.
    """
    if _needs_importlib_metadata():
        return _from_importlib_metadata(group)
    state = _path_state()
    cached = _CACHE.get(group)
    if cached is not None and state is not None and cached[0] == state:
        return cached[1]
    found: list[InstalledEntryPoint] = []
    for _, location in _first_of_each_distribution():
        found.extend(_read_entry_points(location, group))
    answer = tuple(found)
    if state is not None:
        _CACHE[group] = (state, answer)
    return answer


_CACHE: dict[str, tuple[tuple[tuple[str, int], ...], tuple[InstalledEntryPoint, ...]]] = {}
_SETTLED_NS = 2_000_000_000
"""How old a directory's change must be before an answer read after it is kept (2 s)."""


def _path_state() -> tuple[tuple[str, int], ...] | None:
    """Each ``sys.path`` entry and its directory's mtime; None while one changed just now.

    Installing, upgrading or removing a distribution adds or removes a
    ``*.dist-info`` directory, which changes the mtime of the directory holding
    it, so a plugin installed while a process runs is seen by its next
    container. A change within the last two seconds is not trusted to be the
    last one (two changes in one clock tick leave one mtime, as git's "racy"
    index entries do): the answer is then read afresh and not kept.
    """
    now = time.time_ns()
    state = []
    for entry in sys.path:
        try:
            mtime = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = -1
        if mtime > now - _SETTLED_NS:
            return None
        state.append((entry, mtime))
    return tuple(state)


def installed_version(distribution: str) -> str | None:
    """The version of ``distribution`` that imports would use, or None if not installed."""
    wanted = _normalize(distribution)
    if _needs_importlib_metadata():
        import importlib.metadata

        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return None
    for name, location in _first_of_each_distribution():
        if name == wanted:
            found = _name_and_version(location)
            return found[1] if found else None
    return None


def _needs_importlib_metadata() -> bool:
    """Whether some distribution could be found only by importlib.metadata's machinery."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and hasattr(finder, "find_distributions"):
            return True
    return any(
        os.path.isfile(entry) or os.path.basename(entry).lower().endswith(".egg")
        for entry in sys.path
    )


def _from_importlib_metadata(group: str) -> tuple[InstalledEntryPoint, ...]:
    import importlib.metadata

    return tuple(
        InstalledEntryPoint(
            ep.name, ep.value, ep.group, str(getattr(ep.dist, "_path", "")) or None, ep.dist
        )
        for ep in importlib.metadata.entry_points(group=group)
    )


def _children(directory: str) -> list[str]:
    try:
        return os.listdir(directory or ".")  # "" is the current directory
    except OSError:  # missing, not a directory, unreadable: importlib.metadata skips it too
        return []


def _first_of_each_distribution() -> Iterator[tuple[str, str]]:
    """``(normalised name, metadata directory)`` in importlib.metadata's order, each name once.

    Within one ``sys.path`` entry importlib.metadata groups directories by
    normalised name in listing order; across entries the first one wins.
    """
    seen: set[str] = set()
    for directory in sys.path:
        grouped: dict[str, list[str]] = {}
        for child in _children(directory):
            low = child.lower()
            if low.endswith(_METADATA_SUFFIXES):
                grouped.setdefault(_normalize(_name_from_child(low)), []).append(child)
        for children in grouped.values():
            for child in children:
                location = os.path.join(directory, child)
                name = _distribution_key(child, location)
                if name not in seen:
                    seen.add(name)
                    yield name, location


def _name_from_child(low: str) -> str:
    return low.rpartition(".")[0].partition("-")[0]


def _distribution_key(child: str, location: str) -> str:
    """importlib.metadata's ``_normalized_name``: from the directory name, else ``Name:``."""
    stem, ext = os.path.splitext(child)
    if ext in _METADATA_SUFFIXES:  # case-sensitive, as importlib.metadata's check is
        return _normalize(stem.partition("-")[0])
    found = _name_and_version(location)
    return _normalize(found[0]) if found else ""


def canonical_name(distribution: str) -> str:
    """PEP 503 normalisation: ``Rdzv_Plugin`` and ``rdzv-plugin`` are one distribution."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _normalize(name: str) -> str:
    """importlib.metadata's ``Prepared.normalize``: the PEP 503 name, with underscores."""
    return canonical_name(name).replace("-", "_")


def _read_text(location: str, name: str) -> str | None:
    try:
        with open(os.path.join(location, name), encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError):  # importlib.metadata treats these as absent
        return None


def _read_entry_points(location: str, group: str) -> Iterator[InstalledEntryPoint]:
    """The ``group`` section of ``entry_points.txt``, parsed as importlib.metadata does."""
    text = _read_text(location, "entry_points.txt")
    if not text:
        return
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section == group:
            name, _, value = line.partition("=")
            yield InstalledEntryPoint(name.strip(), value.strip(), group, location)


def _name_and_version(location: str) -> tuple[str, str] | None:
    """``Name`` and ``Version`` from the headers of METADATA (or PKG-INFO for egg-info)."""
    text = _read_text(location, "METADATA") or _read_text(location, "PKG-INFO")
    if text is None:
        return None
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line:
            break  # the headers end at the first blank line; the description follows
        key, sep, value = line.partition(":")
        if sep and not line[0].isspace():
            headers.setdefault(key.strip().lower(), value.strip())
    if "name" not in headers:
        return None
    return headers["name"], headers.get("version", "<unknown version>")
