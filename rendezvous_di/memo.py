"""Reusing a container's last resolution while its sources are unchanged.

One ``handler()`` resolves the settings several times (the Selector's key,
the parameters, the plugin policy, the backend check). Without this, each
would re-read the YAML file and re-validate everything: hundreds of
microseconds per handler, where torch's registry lookup costs well under one.

Inputs are compared cheaply: dependency-injector's ``Configuration`` returns
the same dict until something changes and a new one after every change, so
identity decides; PET_* values, a file's size and mtime (and the variables it
references) are compared by value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .sources import DISABLE_AUTOLOAD_ENV, TORCHRUN_OPTIONS

T = TypeVar("T")
WATCHED_ENVIRONMENT = (*(o.env for o in TORCHRUN_OPTIONS), DISABLE_AUTOLOAD_ENV)
# os.environ.get encodes the key and raises KeyError inside for every unset variable:
# ~0.7 µs a name, most of a resolution. Its backing dict, with keys encoded once, is
# read in ~30 ns (os.environ's mutations all go through that dict, so nothing is missed).
_ENCODED_WATCHED = tuple(map(os.environ.encodekey, WATCHED_ENVIRONMENT))
_ENV_REFERENCE = re.compile(r"\$\{(\w+)")


def same(left: Any, right: Any) -> bool:
    """Equal keys. Tuple comparison in C tries identity first for each element, so an
    unchanged Configuration dict costs a pointer comparison, not a deep one."""
    try:
        return bool(left == right)
    except Exception:  # an exotic value that cannot compare: treat as changed
        return False


def environment_key(environ: Mapping[str, str]) -> tuple[Any, ...]:
    """The watched variables' values, read from os.environ's backing dict when possible."""
    data = getattr(environ, "_data", None) if environ is os.environ else None
    if isinstance(data, dict):
        return tuple(map(data.get, _ENCODED_WATCHED))
    return tuple(map(environ.get, WATCHED_ENVIRONMENT))


class ResolutionMemo:
    """The last value computed per kind, with the inputs it was computed from."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[Any, Any]] = {}
        self._file_references: dict[tuple[str, int, int], tuple[str, ...]] = {}

    def get(self, kind: str, key: Any, compute: Callable[[], T]) -> T:
        """``compute()``, unless the last value of ``kind`` was computed from the same ``key``."""
        last = self._last.get(kind)
        if last is not None and same(last[0], key):
            value: T = last[1]
            return value
        value = compute()
        self._last[kind] = (key, value)
        return value

    def put(self, kind: str, key: Any, value: Any) -> None:
        """Remember ``value`` as computed from ``key``."""
        self._last[kind] = (key, value)

    def sources_key(
        self,
        explicit: Any,
        config_file: str | os.PathLike[str] | None,
        environ: Mapping[str, str] | None,
        flags: Any,
    ) -> tuple[Any, ...]:
        """What the container's source layers depend on."""
        env = None if environ is None else environment_key(environ)
        file = None if config_file is None else self._file_key(config_file, environ)
        return (explicit, file, env, flags)

    def _file_key(
        self, config_file: str | os.PathLike[str], environ: Mapping[str, str] | None
    ) -> Any:
        path = os.fspath(config_file)
        try:
            stat = os.stat(path)
        except OSError:
            return (path, None)  # not cached in effect: reading it will raise the real error
        identity = (path, stat.st_mtime_ns, stat.st_size)
        names = self._file_references.get(identity)
        if names is None:
            try:
                with open(path, encoding="utf-8") as file:
                    names = tuple(sorted(set(_ENV_REFERENCE.findall(file.read()))))
            except OSError:
                return (path, None)
            self._file_references = {identity: names}
        env = os.environ if environ is None else environ
        return (*identity, tuple(env.get(n) for n in names))
