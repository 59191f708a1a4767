"""``disk``: is there room, and does writing go at a usable speed, where the job writes?

A full disk fails a job hours in, at its first checkpoint; a degraded one
makes every checkpoint slow. Checked: the job's working directory and the
temporary directory (``TMPDIR``), or the directories given in ``paths``. For
each: free space (``statvfs``), then ``write_mb`` MiB written and fsync'd
into a temporary file there (removed afterwards) for the write speed.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from typing import Any

CHUNK = 1 << 20


def check(options: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Free space and write speed of the working directory and TMPDIR (or ``paths``)."""
    given = [p for p in str(options.get("paths") or "").split(os.pathsep) if p.strip()]
    paths = given or [
        str(context.get("cwd") or os.getcwd()),
        str(context.get("tmpdir") or tempfile.gettempdir()),
    ]
    min_free = float(options["min_free_mb"])
    min_speed = float(options["min_write_mb_s"])
    size_mb = float(options["write_mb"])
    measurements: dict[str, float] = {}
    problems: list[str] = []
    for index, path in enumerate(dict.fromkeys(os.path.realpath(p) for p in paths)):
        tag = f"path{index}"
        try:
            stat = os.statvfs(path)
        except OSError as error:
            problems.append(f"{path}: cannot be read ({error.strerror or error})")
            continue
        free_mb = stat.f_bavail * stat.f_frsize / CHUNK
        measurements[f"{tag}_free_mb"] = round(free_mb, 1)
        if free_mb < min_free:
            problems.append(f"{path}: {free_mb:.1f} MiB free, below min_free_mb {min_free:g}")
            continue
        if size_mb <= 0:
            continue
        try:
            speed = _write_speed(path, size_mb)
        except OSError as error:
            problems.append(f"{path}: writing {size_mb:g} MiB failed ({error.strerror or error})")
            continue
        measurements[f"{tag}_write_mb_s"] = round(speed, 1)
        if speed < min_speed:
            problems.append(
                f"{path}: writes at {speed:.1f} MiB/s, below min_write_mb_s {min_speed:g}"
            )
    paths_text = ", ".join(dict.fromkeys(os.path.realpath(p) for p in paths))
    if problems:
        return {"status": "failed", "reason": "; ".join(problems), "measurements": measurements}
    return {"status": "passed", "reason": paths_text, "measurements": measurements}


def _write_speed(directory: str, size_mb: float) -> float:
    """MiB/s of writing ``size_mb`` MiB and fsync'ing them in ``directory``."""
    block = os.urandom(CHUNK)
    left = int(size_mb * CHUNK)
    fd, name = tempfile.mkstemp(prefix=".rendezvous-di-disk-", dir=directory)
    try:
        started = time.perf_counter()
        while left > 0:
            left -= os.write(fd, block[: min(left, CHUNK)])
        os.fsync(fd)
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
        os.unlink(name)
    return size_mb / max(elapsed, 1e-6)


check.admission_summary = (  # type: ignore[attr-defined]
    "free space and write speed of the working directory and TMPDIR (or paths)"
)
check.admission_kind = "node"  # type: ignore[attr-defined]
check.admission_timeout = 60  # type: ignore[attr-defined]
check.admission_options = {  # type: ignore[attr-defined]
    "paths": {
        "type": "str",
        "default": "",
        "help": f"directories to check, separated by {os.pathsep!r} (default: the working "
        "directory and TMPDIR)",
    },
    "min_free_mb": {
        "type": "float",
        "default": 1024.0,
        "help": "least free space, MiB, in each directory",
        "minimum": 0,
    },
    "min_write_mb_s": {
        "type": "float",
        "default": 10.0,
        "help": "least write speed, MiB/s (fsync'd), in each directory",
        "minimum": 0,
    },
    "write_mb": {
        "type": "float",
        "default": 16.0,
        "help": "MiB written to measure the speed (0: free space only)",
        "minimum": 0,
        "maximum": 4096,
    },
}
