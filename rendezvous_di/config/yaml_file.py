"""Reading a settings file: YAML with ``${VAR}`` expansion and torchrun's ``1:4`` kept as text.

Hostile files are refused with the file's name, never hung on or walked: only
regular files up to `MAX_FILE_BYTES` are read, aliases may not expand
past `MAX_NODES` values, and a variable's value is substituted into one
scalar, so it can never add keys or open a list.

A file is re-read only when it or a variable it references changes: its
path, modification time and size, and the referenced variables' values, all
public data, are the cache key.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import threading
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, ConfigFileError
from ..text import MAX_CHOICES, quote, shorten
from .values import ENV_REFERENCE, expand_references, referenced_names

_last: dict[str, tuple[Any, Any]] = {}  # path -> (key, data)
_lock = threading.Lock()


MAX_FILE_BYTES = 1 << 20
"""The largest settings file read (1 MiB; real ones are a few hundred bytes): ``/dev/zero``
or a log passed by mistake must not be read without end."""
MAX_NODES = 10_000
"""Values a file may stand for once its YAML aliases are expanded. A few hundred bytes of
nested aliases ("billion laughs") stand for a billion values; walking them hangs."""

MAX_SHOWN_KEYS = MAX_CHOICES
"""Keys of a file named in a ``config_key`` error; the rest are counted."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
"""The encodings YAML allows, told apart by their byte order mark (UTF-32's first: it
starts with UTF-16's)."""


def read_settings_file(path: str | os.PathLike[str], environ: Mapping[str, str]) -> Any:
    """The parsed top-level value of the file at ``path`` (None for an empty file).

    Only a regular file is read: a FIFO would block the command until someone
    writes to it, a device may never end. ``${VAR}`` references are expanded
    in each scalar after parsing, so a variable's value is always one value,
    never YAML structure.

    Raises:
        ConfigFileError: missing, not a regular file, too large, not text, or
            invalid YAML (with the line).
    """
    name = os.fspath(path)
    if not name:
        raise ConfigFileError(repr(name), "the path is empty; expected a YAML file")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer. Regular files ignore it.
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigFileError(name, "no such file") from None
    except OSError as error:
        raise ConfigFileError(name, error.strerror or str(error)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISCHR(info.st_mode) and _is_devnull(info):
            return None  # ``--config /dev/null``: the shell's way to say "no settings"
        identity = _regular_file_identity(name, info)
        with _lock:
            cached = _last.get(name)
        if cached is not None and cached[0][0] == identity:
            names, data = cached[0][1], cached[1]
            if cached[0][2] == tuple(environ.get(n) for n in names):
                return data
        raw = _read_at_most(name, fd, MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigFileError(name, f"is larger than {MAX_FILE_BYTES} bytes; not a settings file")
    text = _decode(name, raw)
    names = referenced_names(text)
    data = _parse(name, text, environ)
    with _lock:
        _last[name] = ((identity, names, tuple(environ.get(n) for n in names)), data)
    return data


def settings_under(data: Any, key: str, name: str) -> Any:
    """The value at the dotted ``key`` of a file's ``data`` (None: the key holds nothing).

    Raises:
        ConfigError: ``config_key`` is empty, or missing in the file (the keys that
            exist are listed), or leads through or to something that is not a mapping.
    """
    parts = key.split(".")
    if not key.strip() or any(not part.strip() for part in parts):
        raise ConfigError(
            "config_key",
            key,
            f"{quote(key)} is not a dotted key (it has an empty part)",
            hint="for example rendezvous or platform.rendezvous",
        )
    source = f"file {name}"
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the top"
        if not isinstance(data, Mapping):
            raise ConfigError(
                "config_key",
                key,
                f"{where} of {name} is {_kind(data)}, not a mapping with key {quote(part)}",
                source=source,
            )
        if part not in data:
            raise ConfigError(
                "config_key",
                key,
                f"{name} has no key {quote(part)} at {where}",
                choices=_key_names(data),
                hint=f"{len(data)} keys there" if len(data) > MAX_SHOWN_KEYS else None,
                source=source,
            )
        data = data[part]
    if data is not None and not isinstance(data, Mapping):
        raise ConfigError(
            "config_key",
            key,
            f"{quote(key)} of {name} is {type(data).__name__}, not a mapping of settings",
            source=source,
        )
    return data


def _kind(data: Any) -> str:
    return "empty" if data is None else type(data).__name__


def _key_names(data: Mapping[Any, Any]) -> list[str]:
    """The first keys of a mapping, each shortened, for an error (the hint counts them all)."""
    return [shorten(str(k), 40) for k in list(data)[:MAX_SHOWN_KEYS]]


def _read_at_most(name: str, fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while size < limit:
            chunk = os.read(fd, min(1 << 16, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise ConfigFileError(name, error.strerror or str(error)) from None
    return b"".join(chunks)


def _is_devnull(info: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return (info.st_rdev, info.st_ino, info.st_dev) == (null.st_rdev, null.st_ino, null.st_dev)


def _regular_file_identity(name: str, info: os.stat_result) -> tuple[int, int]:
    if stat.S_ISDIR(info.st_mode):
        raise ConfigFileError(name, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "not a regular file"
        )
        hint = (
            "; write the settings to a file (a pipe or <(...) is not read)"
            if "FIFO" in kind
            else ""
        )
        raise ConfigFileError(name, f"is {kind}; expected a regular YAML file{hint}")
    if info.st_size > MAX_FILE_BYTES:
        raise ConfigFileError(
            name, f"is {info.st_size} bytes; a settings file has at most {MAX_FILE_BYTES}"
        )
    return info.st_mtime_ns, info.st_size


def _decode(name: str, raw: bytes) -> str:
    """UTF-8, or UTF-16/32 with a byte order mark (YAML's encodings); anything else is refused."""
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problem = f"is not {encoding.upper().replace('-SIG', '')} text"
        raise ConfigFileError(
            name, f"{problem} (byte 0x{raw[error.start]:02x} at offset {error.start})", line=line
        ) from None


def _parse(name: str, text: str, environ: Mapping[str, str]) -> Any:
    import yaml  # deferred: only file-based configuration pays for PyYAML

    loader = None
    try:
        loader = _loader()(text)  # reading starts here: a NUL byte fails already
        loader.environ = environ
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(name, node)
        _check_unique_keys(name, node)
        return loader.construct_document(node)
    except ConfigFileError:
        raise
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
    finally:
        if loader is not None:
            loader.dispose()


def _check_size(name: str, root: Any) -> None:
    """Refuse a node graph that stands for more than `MAX_NODES` values, or a cycle.

    Counted on the composed nodes, before any Python value is built; each
    node is visited once (an alias's size is remembered), so counting a
    billion-laughs file takes as long as reading it.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()
    aliased = False  # a node met twice: the file uses aliases
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_NODES:
                line = node.start_mark.line + 1 if node.start_mark is not None else None
                # Aliases are to blame only when the file's own nodes are few: 60,000 plain
                # keys with one alias among them are a file too large, not an alias bomb.
                problem = (
                    f"stands for more than {MAX_NODES} values once its YAML aliases are "
                    "expanded (an alias bomb?)"
                    if aliased and len(sizes) <= MAX_NODES
                    else f"holds more than {MAX_NODES} values; a settings file has a few"
                )
                raise ConfigFileError(name, problem, line=line)
            continue
        if key in sizes:
            aliased = True
            continue
        if key in active:
            line = node.start_mark.line + 1 if node.start_mark is not None else None
            raise ConfigFileError(name, "a YAML alias refers to a value containing it", line=line)
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _check_unique_keys(name: str, root: Any) -> None:
    """Refuse a mapping that gives one key twice, naming the key and both lines.

    PyYAML keeps the last value without a word; YAML itself forbids it, and an
    editor with our schema flags it. Which of two values a job meant is not
    ours to guess. Merge keys (``<<: *base``) override by design and are not
    duplicates. Runs after `_check_size`, so the walk is bounded.
    """
    import yaml

    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue
                line = key_node.start_mark.line + 1
                identity = (key_node.tag, key_node.value)
                if identity in first:  # the same key again (maybe on the same line)
                    raise ConfigFileError(
                        name,
                        f"the key {quote(key_node.value)} is given twice, on lines "
                        f"{first[identity]} and {line}; keep one",
                        line=line,
                    )
                first[identity] = line
        stack.extend(_children(node))


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return [part for pair in value for part in pair]  # a mapping's (key, value) pairs
    return value if isinstance(value, list) else []


def _expanding_str(loader: Any, node: Any) -> Any:
    """A text scalar with ``${VAR}`` / ``${VAR:default}`` replaced: one value, whatever VAR holds.

    A plain scalar that is only a reference to an empty or unset variable is
    null, as the same text substituted before parsing would be: an unset
    optional setting stays unset.
    """
    text = loader.construct_scalar(node)
    if "${" not in text:
        return text
    expanded = expand_references(text, loader.environ)
    if node.style is None and not expanded.strip() and ENV_REFERENCE.fullmatch(text.strip()):
        return None
    return expanded


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
    RendezvousLoader.add_constructor("tag:yaml.org,2002:str", _expanding_str)
    _LOADER.append(RendezvousLoader)
    return RendezvousLoader


_DUMPER: list[type] = []


def dump_settings(data: Mapping[str, Any]) -> str:
    """``data`` as YAML that `read_settings_file` reads back exactly, value for value.

    PyYAML's own dumper follows YAML 1.1's resolvers, and our loader does not
    (it reads ``0o17`` as an integer, ``1:4`` as text): a text written plain
    by one could come back as a number through the other. This dumper writes a
    text plain only when neither set of resolvers takes it for anything but
    text (so dependency-injector's ``from_yaml`` reads the file alike), and in
    double quotes, escaped, any text holding a character that a plain or
    single-quoted scalar would not give back: line breaks (``\\x85`` and
    ``\\u2028`` included, which YAML folds into spaces), tabs, control and
    format characters.
    """
    import yaml

    text: str = yaml.dump(
        dict(data),
        Dumper=_dumper(),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,  # never fold a long text over lines
    )
    return text


def _dumper() -> type:
    if _DUMPER:
        return _DUMPER[0]
    import yaml

    class RendezvousDumper(yaml.SafeDumper):
        pass

    # Quote a text that either reader would take for something else: ours (``0o17`` is an
    # int) or YAML 1.1's, which dependency-injector's from_yaml uses (``1:4`` is 64).
    loader: Any = _loader()
    resolvers: dict[Any, list[Any]] = {}
    for table in (yaml.SafeLoader.yaml_implicit_resolvers, loader.yaml_implicit_resolvers):
        for first, entries in table.items():
            resolvers.setdefault(first, []).extend(entries)
    RendezvousDumper.yaml_implicit_resolvers = resolvers

    def represent_text(dumper: Any, value: str) -> Any:
        exact = all(ch.isprintable() for ch in value)  # False for \n, \t, \x85, \u2028...
        style = None if exact else '"'
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    RendezvousDumper.add_representer(str, represent_text)
    _DUMPER.append(RendezvousDumper)
    return RendezvousDumper
