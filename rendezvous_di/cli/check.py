"""``rendezvous-di check``: is this node ready to rendezvous? Answer before a job burns GPU hours.

Validates the effective configuration as the job would (TLS files read and
all), then runs the selected backend's probe (its description's) within
``--timeout`` seconds. Exit codes: 0 ready, 1 unreachable (what failed and
how to fix it on stderr), 2 invalid configuration.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import one_line
from ..preflight import validate_for_run
from .common import add_rendezvous_flags, add_shared_flags, container_from_args

__all__ = ["add_parser", "main", "run_check", "validate_for_run"]

if TYPE_CHECKING:
    from ..backends.probing import ProbeResult
    from ..config.settings import RendezvousSettings

NAME = "check"
HELP = "validate the settings and probe the backend: exit 0 ready, 1 unreachable"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 86400.0  # a day; socket timeouts overflow far beyond, and nobody waits longer


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_shared_flags(parser)
    add_rendezvous_flags(parser)
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds the whole probe may take (default {DEFAULT_TIMEOUT:g})",
    )
    parser.set_defaults(command_main=main)


def main(args: argparse.Namespace) -> int:
    container = container_from_args(args)
    return run_check(container, args.timeout, sys.stdout, sys.stderr, as_json=args.json)


def run_check(container: Any, timeout: float, out: TextIO, err: TextIO, *, as_json: bool) -> int:
    """Validate, probe, report; return the exit code."""
    from ..backends.probing import Deadline, ProbeTimeout, bounded, probe

    deadline = Deadline(timeout)
    try:
        # Validating loads the selected plugin (its options are on its creator): a plugin
        # whose import hangs must not hang the command that is meant to diagnose it.
        settings, description = bounded(
            lambda: validate_for_run(container), deadline, "loading the selected backend"
        )
    except ProbeTimeout as error:
        err.write(f"error: {one_line(str(error))}\n")
        err.write("fix: the plugin's import hangs or is slow: raise --timeout, or deny it\n")
        return 1
    result = probe(settings, description, deadline)
    if as_json:
        json.dump(_as_json(settings, result, timeout), out, indent=2)
        out.write("\n")
    else:
        out.write(
            f"config: ok (backend {settings.backend}, endpoint {settings.endpoint}, "
            f"run_id {settings.run_id}, nodes {settings.min_nodes}:{settings.max_nodes})\n"
        )
        if result.ok:
            out.write(f"ready: {result.detail}\n")
        else:
            err.write(f"error: {one_line(f'{settings.backend}: {result.detail}')}\n")
            if result.fix:
                err.write(f"fix: {result.fix}\n")
    return 0 if result.ok else 1


def _as_json(settings: RendezvousSettings, result: ProbeResult, timeout: float) -> dict[str, Any]:
    return {
        "ready": result.ok,
        "backend": settings.backend,
        "endpoint": settings.endpoint,
        "timeout": timeout,
        "detail": result.detail,
        "fix": result.fix,
    }


def positive_seconds(text: str) -> float:
    """argparse type of ``--timeout``: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text!r}")
    if not math.isfinite(value) or value > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_TIMEOUT:g} seconds, got {text!r}")
    return value
