"""Measuring tools: medians of repeated subprocess runs, with peak memory per run.

Each command runs in a fresh interpreter so import caches are cold for the
package under test (the OS page cache is warm for both sides alike).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """Median wall time (seconds) and median peak RSS (MiB) over ``runs`` runs."""

    seconds: float
    peak_mib: float
    runs: int


def run_python(
    code: str, *, runs: int, env: Mapping[str, str] | None = None, warmup: int = 1
) -> Sample:
    """Time ``python -c code`` ``runs`` times; peak RSS comes from ``wait4`` per child."""
    return run_command([sys.executable, "-c", code], runs=runs, env=env, warmup=warmup)


def run_command(
    command: Sequence[str],
    *,
    runs: int,
    env: Mapping[str, str] | None = None,
    warmup: int = 1,
    cwd: str | None = None,
) -> Sample:
    times, peaks = [], []
    full_env = {**os.environ, **(env or {})}
    for index in range(warmup + runs):
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            env=full_env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        stderr = process.stderr.read().decode() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
        if index >= warmup:
            times.append(elapsed)
            peaks.append(usage.ru_maxrss / 1024)
    return Sample(statistics.median(times), statistics.median(peaks), runs)


def per_call(function: Callable[[], object], *, calls: int, repeats: int) -> float:
    """Median seconds per call of ``function`` over ``repeats`` batches of ``calls``."""
    batches = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        batches.append((time.perf_counter() - start) / calls)
    return statistics.median(batches)
