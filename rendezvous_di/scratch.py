"""torch's log directory when nobody asked for one: made by us, removed when the job ends.

Without ``--log-dir`` torch's launcher makes ``/tmp/torchelastic_*`` (its
``DefaultLogsSpecs``) for the workers' error files and redirected output, and
never removes it: a directory per job, forever. ``run`` makes that directory
itself, the same way (`tempfile.mkdtemp` with torch's prefix, under ``TMPDIR``),
hands it to torch as the log directory, and removes it when the job ends:
finished, failed (the failures' messages are read before torch returns) or
stopped by a signal, also when the signal watcher ends a process stuck in C
(`remove_all`). A ``--log-dir`` (or ``PET_LOG_DIR``) given by the user is theirs
and stays.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Iterator

PREFIX = "torchelastic_"
"""torch's own prefix for the directory, so the name says what it is as before."""

_owned: set[str] = set()
_lock = threading.Lock()


@contextlib.contextmanager
def log_dir() -> Iterator[str]:
    """A fresh directory for torch's logs, removed with its contents when the block ends."""
    path = tempfile.mkdtemp(prefix=PREFIX)
    with _lock:
        _owned.add(path)
    try:
        yield path
    finally:
        _remove(path)


def remove_all() -> None:
    """Remove every directory this process still owns (the process ends without unwinding)."""
    with _lock:
        paths = list(_owned)
    for path in paths:
        _remove(path)


def _remove(path: str) -> None:
    with _lock:
        _owned.discard(path)
    shutil.rmtree(path, ignore_errors=True)
