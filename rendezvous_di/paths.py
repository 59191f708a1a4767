"""What a path a user gave actually is, asked before anything opens it.

Opening a FIFO for reading waits for a writer, forever; a device may never
end; a directory cannot be read as a file. Every path option (TLS files, the
training script, ``--log-dir``) is looked at with ``stat`` first, which never
blocks, and refused by what it is: "is a FIFO" rather than "does not exist"
when the path exists. The settings file has its own reader
(`rendezvous_di.config.yaml_file`), which opens without blocking and asks the
same questions of the open descriptor.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TextIO

from .text import quote

__all__ = [
    "directory_problem",
    "file_problem",
    "kind_of",
    "open_for_writing",
    "open_regular_text",
]


def kind_of(mode: int) -> str:
    """What a ``st_mode`` is, with its article, for a message: "a FIFO (named pipe)"."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _stat_problem(path: str) -> tuple[os.stat_result | None, str | None]:
    """``stat(path)`` (following links), or what stops it, said the way a user fixes it."""
    if not path.strip():
        return None, "is empty; expected a path"
    if "\x00" in path:
        return None, "holds a NUL character; no path can"
    try:
        return os.stat(path), None
    except FileNotFoundError:
        if os.path.lexists(path):
            return None, f"{quote(path)} is a symbolic link to nothing"
        return None, f"{quote(path)} does not exist"
    except NotADirectoryError:
        return None, f"{quote(path)} goes through something that is not a directory"
    except PermissionError:
        return None, f"{quote(path)} cannot be reached: permission denied"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return None, f"{quote(path)} is a loop of symbolic links"
        return None, f"{quote(path)} cannot be examined: {error.strerror or error}"


def file_problem(path: str, *, executable: bool = False) -> str | None:
    """Why ``path`` is not a regular file this process can read (and run); None when it is."""
    info, problem = _stat_problem(path)
    if info is None:
        return problem
    if not stat.S_ISREG(info.st_mode):
        return f"{quote(path)} is {kind_of(info.st_mode)}, not a regular file"
    if not os.access(path, os.R_OK):
        return f"{quote(path)} is a regular file but cannot be read (permission denied)"
    if executable and not os.access(path, os.X_OK):
        return f"{quote(path)} is a regular file but not executable"
    return None


def directory_problem(path: str) -> str | None:
    """Why files cannot be created in (or under) the directory ``path``; None when they can.

    A directory that does not exist yet is fine when its nearest existing
    ancestor is a directory we can write to (it will be created, as torch's
    launcher creates ``--log-dir``).
    """
    info, problem = _stat_problem(path)
    if info is None and problem is not None and problem.endswith("does not exist"):
        parent = os.path.dirname(os.path.abspath(path))
        while not os.path.lexists(parent):
            parent = os.path.dirname(parent)
        parent_problem = directory_problem(parent)
        if parent_problem is None:
            return None
        return f"{quote(path)} does not exist and cannot be created: {parent_problem}"
    if info is None:
        return problem
    if not stat.S_ISDIR(info.st_mode):
        return f"{quote(path)} is {kind_of(info.st_mode)}, not a directory"
    return _creation_problem(path)


def _creation_problem(directory: str) -> str | None:
    """Create and remove an empty directory in ``directory``: the only answer that holds for
    root (``access()`` says yes to it everywhere) and for /proc or /sys, which refuse it."""
    import tempfile

    try:
        probe = tempfile.mkdtemp(prefix=".rendezvous-di-probe-", dir=directory)
    except OSError as error:
        reason = error.strerror or str(error)
        return f"{quote(directory)} is a directory but nothing can be created in it ({reason})"
    os.rmdir(probe)
    return None


def open_regular_text(path: str, limit: int) -> str:
    """At most ``limit`` characters of the regular file ``path`` (ASCII, others replaced).

    Opened without blocking and checked on the open descriptor, so a FIFO put in
    place between a check and the read cannot hang the command.

    Raises:
        OSError: the file cannot be opened or read, or is not a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"is {kind_of(mode)}, not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, encoding="ascii", errors="replace", closefd=False) as file:
            return file.read(limit)
    finally:
        os.close(fd)


def open_for_writing(path: str) -> TextIO:
    """``path`` opened to be written as UTF-8 text, without waiting on a FIFO that nobody reads.

    A FIFO with a reader (``--output >(jq .)``, ``/dev/stdout`` in a pipe) is
    written to; one without is refused at once, as a directory is.

    Raises:
        OSError: with a ``strerror`` that says what the path is.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as error:
        if error.errno == errno.ENXIO:  # a FIFO without a reader
            raise OSError(error.errno, "is a FIFO (named pipe) that nobody reads") from None
        if error.errno == errno.EISDIR:
            raise OSError(error.errno, "is a directory, not a file") from None
        if error.errno == errno.ENOENT:
            parent = os.path.dirname(os.path.abspath(path))
            raise OSError(error.errno, f"its directory {parent} does not exist") from None
        raise
    os.set_blocking(fd, True)
    return open(fd, "w", encoding="utf-8")
