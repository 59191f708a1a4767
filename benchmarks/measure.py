"""Measuring tools: medians of repeated subprocess runs, with peak memory per run.

Each command runs in a fresh interpreter so import caches are cold for the
package under test (the OS page cache is warm for both sides alike).
Comparisons interleave their commands (ours, torch's, ours, ...), so a slow
spell of the machine lands on both sides instead of skewing the ratio.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rendezvous_di"


def compile_our_bytecode() -> None:
    """Compile the package's bytecode, as pip does when it installs a package.

    An editable checkout run with ``PYTHONDONTWRITEBYTECODE`` would otherwise
    recompile ours in every measured process while torch's bytecode is cached.
    """
    compileall.compile_dir(PACKAGE, quiet=1)


@dataclass(frozen=True)
class Sample:
    """Median wall time (seconds) and median peak RSS (MiB) over ``runs`` runs."""

    seconds: float
    peak_mib: float
    runs: int


def run_command(
    command: Sequence[str],
    *,
    runs: int,
    env: Mapping[str, str] | None = None,
    warmup: int = 1,
    cwd: str | None = None,
) -> Sample:
    """Median wall time and peak RSS of ``command`` over ``runs`` runs after ``warmup``."""
    (sample,) = run_interleaved([command], runs=runs, env=env, warmup=warmup, cwd=cwd)
    return sample


Command = Sequence[str] | Callable[[], Sequence[str]]
"""An argv, or a function making a fresh one for each run (a new port, say)."""


def run_interleaved(
    commands: Sequence[Command],
    *,
    runs: int,
    env: Mapping[str, str] | None = None,
    warmup: int = 1,
    cwd: str | None = None,
    exit_codes: Sequence[Sequence[int]] | None = None,
) -> list[Sample]:
    """One :class:`Sample` per command, their runs taken in turn: a, b, b, a, a, b, ...

    ``exit_codes`` gives, per command, the codes that count as the expected outcome
    (default: 0 only); a command measured on bad input is expected to fail.
    """
    times: list[list[float]] = [[] for _ in commands]
    peaks: list[list[float]] = [[] for _ in commands]
    full_env = {**os.environ, **(env or {})}
    for index in range(warmup + runs):
        order = list(enumerate(commands))
        if index % 2:  # a, b then b, a: neither side always runs right after the other
            order.reverse()
        for position, command in order:
            argv = command() if callable(command) else command
            expected = (0,) if exit_codes is None else exit_codes[position]
            elapsed, peak = _run_once(argv, full_env, cwd, expected)
            if index >= warmup:
                times[position].append(elapsed)
                peaks[position].append(peak)
    return [
        Sample(statistics.median(t), statistics.median(p), runs)
        for t, p in zip(times, peaks, strict=True)
    ]


def _run_once(
    command: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    expected: Sequence[int] = (0,),
) -> tuple[float, float]:
    """Seconds and peak RSS (MiB, from ``wait4``) of one run; an unexpected exit is an error."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(command), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in expected:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    return elapsed, usage.ru_maxrss / 1024


def per_call(function: Callable[[], object], *, calls: int, repeats: int) -> float:
    """Median seconds per call of ``function`` over ``repeats`` batches of ``calls``."""
    batches = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        batches.append((time.perf_counter() - start) / calls)
    return statistics.median(batches)
