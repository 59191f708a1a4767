"""``--timeout S``: the one budget of the commands that wait on something they do not control.

``check`` probes a backend, ``backends`` may import plugins; either can meet a
server or a plugin import that never answers. One definition of the flag and
its grammar keeps the two commands' budgets read and refused alike.
"""

from __future__ import annotations

import argparse
import math

MAX_TIMEOUT = 86400.0  # a day; socket timeouts overflow far beyond, and nobody waits longer
SLOW_PLUGIN_FIX = "fix: the plugin's import hangs or is slow: raise --timeout, or deny it\n"


def add_timeout_flag(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    """Add ``--timeout S`` (``what`` says what the budget bounds, for the help)."""
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=default,
        metavar="S",
        help=f"seconds {what} may take (default {default:g})",
    )


def positive_seconds(text: str) -> float:
    """argparse type of ``--timeout``: a positive, finite number of seconds, at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text!r}")
    if not math.isfinite(value) or value > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_TIMEOUT:g} seconds, got {text!r}")
    return value
