"""Paired rounds and their ratio, with a confidence interval: settling a target on 2 cores.

A rendezvous round's time is mostly torch's own pacing (a random 0-0.3 s
delay before a node's first join, one second between its polls of the
state), and the scheduling of N agents on two cores. Two things keep that
noise out of a comparison:

- **Common random numbers.** The two variants of a pair run back to back on
  the same agents, each agent seeding Python's ``random`` (which torch's
  delays draw from) with the same seed for both, so torch's random pacing is
  the same on both sides of every pair and cancels in its ratio.
- **A confidence interval, not a point.** The ratio is the geometric mean of
  the pairs' ratios; a bootstrap over the pairs gives its 95% interval. A
  target is met when the whole interval is under it, missed when the whole
  interval is over it, and otherwise not settled: more pairs would say which.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
RESAMPLES = 4000


@dataclass(frozen=True)
class PairedRatio:
    """``ratio`` of a's time to b's over paired rounds, and its 95% interval."""

    ratio: float
    low: float | None  # None with one pair: no interval
    high: float | None
    pairs: int

    def verdict(self, target: float) -> str:
        """See `verdict`."""
        return verdict(self.low, self.high, target)


def verdict(low: float | None, high: float | None, target: float) -> str:
    """``met`` (the interval is at or under ``target``), ``missed`` (over it) or
    ``unsettled`` (it straddles the target, or there is no interval: one pair)."""
    if low is None or high is None:
        return "unsettled"
    if high <= target:
        return "met"
    return "missed" if low > target else "unsettled"


def interval_text(ratio: float, low: float | None, high: float | None) -> str:
    """``1.004 (0.991-1.018)``, or ``2.000 (1 pair)`` without an interval: for tables."""
    if low is None or high is None:
        return f"{ratio:.3f} (1 pair)"
    return f"{ratio:.3f} ({low:.3f}-{high:.3f})"


def paired_ratio(a: Sequence[float], b: Sequence[float], seed: int = 0) -> PairedRatio:
    """The geometric mean of ``a[i] / b[i]`` with a percentile-bootstrap interval.

    The resampling has a fixed seed, so the same rounds always give the same
    interval.

    Raises:
        ValueError: no pairs, pairs of unequal length, or a time that is not positive.
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"need equal, non-empty paired samples (got {len(a)} and {len(b)})")
    if min(*a, *b) <= 0:
        raise ValueError("paired times must be positive")
    logs = [math.log(x / y) for x, y in zip(a, b, strict=True)]
    ratio = math.exp(statistics.fmean(logs))
    if len(logs) == 1:
        return PairedRatio(ratio, None, None, 1)
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(logs, k=len(logs))) for _ in range(RESAMPLES))
    tail = (1 - CONFIDENCE) / 2
    low = means[int(tail * (RESAMPLES - 1))]
    high = means[math.ceil((1 - tail) * (RESAMPLES - 1))]
    return PairedRatio(ratio, math.exp(low), math.exp(high), len(logs))
