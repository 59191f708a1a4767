"""Reading a settings file: YAML with ``${VAR}`` expansion and torchrun's ``1:4`` kept as text.

A file is re-read only when it or a variable it references changes: its
path, modification time and size, and the referenced variables' values, all
public data, are the cache key.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigFileError
from .values import expand_references, referenced_names

_last: dict[str, tuple[Any, Any]] = {}  # path -> (key, data)
_lock = threading.Lock()


def read_settings_file(path: str | os.PathLike[str], environ: Mapping[str, str]) -> Any:
    """The parsed top-level value of the file at ``path`` (None for an empty file).

    Raises:
        ConfigFileError: missing, unreadable or invalid YAML, with the line.
    """
    name = os.fspath(path)
    try:
        stat = os.stat(name)
        with _lock:
            cached = _last.get(name)
        identity = (stat.st_mtime_ns, stat.st_size)
        if cached is not None and cached[0][0] == identity:
            names, data = cached[0][1], cached[1]
            if cached[0][2] == tuple(environ.get(n) for n in names):
                return data
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(name, "no such file") from None
    except IsADirectoryError:
        raise ConfigFileError(name, "is a directory, not a file") from None
    except UnicodeDecodeError:
        raise ConfigFileError(name, "is not UTF-8 text") from None
    except OSError as error:
        raise ConfigFileError(name, error.strerror or str(error)) from None
    names = referenced_names(text)
    data = _parse(name, expand_references(text, environ))
    with _lock:
        _last[name] = ((identity, names, tuple(environ.get(n) for n in names)), data)
    return data


def _parse(name: str, text: str) -> Any:
    import yaml  # deferred: only file-based configuration pays for PyYAML

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigFileError(name, f"invalid YAML: {error.problem}", line=line) from None
    except yaml.YAMLError as error:
        raise ConfigFileError(name, f"invalid YAML: {error}") from None
    except RecursionError:
        raise ConfigFileError(name, "invalid YAML: nested too deeply") from None
    except (ValueError, OverflowError) as error:  # an integer past Python's 4300 digits
        raise ConfigFileError(name, f"invalid YAML: {error}") from None


_LOADER: list[type] = []


def _loader() -> type:
    """A SafeLoader that reads ``1:4`` as text, not as YAML 1.1's base-60 integer 64.

    ``nnodes: 1:4`` is how torchrun users write a node range; PyYAML's
    default resolver would silently turn it into 64 nodes.
    """
    if _LOADER:
        return _LOADER[0]
    import yaml

    class RendezvousLoader(yaml.SafeLoader):
        pass

    resolvers = {
        first: [
            (tag, regexp)
            for tag, regexp in entries
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        ]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    RendezvousLoader.yaml_implicit_resolvers = resolvers
    RendezvousLoader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^[-+]?(0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|0o?[0-7_]+)$"),
        list("-+0123456789"),
    )
    RendezvousLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
        ),
        list("-+0123456789."),
    )
    _LOADER.append(RendezvousLoader)
    return RendezvousLoader
