"""``rendezvous-di check``: is this node ready to rendezvous? Answer before a job burns GPU hours.

Validates the effective configuration as the job would (TLS files read and
all), then runs the selected backend's probe (its description's) within
``--timeout`` seconds. Exit codes: 0 ready, 1 unreachable (what failed and
how to fix it on stderr), 2 invalid configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ..preflight import validate_for_run
from ..text import one_line, visible
from .common import (
    add_rendezvous_flags,
    add_shared_flags,
    container_from_args,
    warn_about_policy,
)
from .timeout import SLOW_PLUGIN_FIX, add_timeout_flag

__all__ = ["add_parser", "main", "run_check", "validate_for_run"]

if TYPE_CHECKING:
    from ..backends.description import ProbeResult
    from ..config.settings import RendezvousSettings

NAME = "check"
HELP = "validate the settings and probe the backend: exit 0 ready, 1 unreachable"
DEFAULT_TIMEOUT = 10.0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_shared_flags(parser)
    add_rendezvous_flags(parser)
    add_timeout_flag(parser, DEFAULT_TIMEOUT, "the whole probe")
    parser.set_defaults(command_main=main)


def main(args: argparse.Namespace) -> int:
    container = container_from_args(args)
    return run_check(container, args.timeout, sys.stdout, sys.stderr, as_json=args.json)


def run_check(container: Any, timeout: float, out: TextIO, err: TextIO, *, as_json: bool) -> int:
    """Validate, probe, report; return the exit code."""
    from ..backends.deadline import Deadline, ProbeTimeout
    from ..backends.probing import probe
    from ..plugins.isolation import loading_in_a_child

    deadline = Deadline(timeout)
    try:
        # Validating loads the selected plugin (its options are on its creator), in a
        # child process: a plugin that kills its process, hangs or raises
        # KeyboardInterrupt at import must not end or hang the command meant to diagnose
        # it. At the deadline the child is killed.
        with loading_in_a_child(deadline):
            settings, description = validate_for_run(container)
    except ProbeTimeout as error:
        err.write(f"error: {one_line(str(error))}\n")
        err.write(SLOW_PLUGIN_FIX)
        return 1
    result = probe(settings, description, deadline)
    if as_json:
        json.dump(_as_json(settings, result, timeout), out, indent=2)
        out.write("\n")
    else:
        out.write(
            visible(
                f"config: ok (backend {settings.backend}, endpoint {settings.endpoint}, "
                f"run_id {settings.run_id}, nodes {settings.min_nodes}:{settings.max_nodes})"
            )
            + "\n"
        )
        if result.ok:
            out.write(f"ready: {visible(result.detail)}\n")
        else:
            err.write(f"error: {one_line(f'{settings.backend}: {result.detail}')}\n")
            if result.fix:
                err.write(f"fix: {result.fix}\n")
    warn_about_policy(settings, err)  # after the verdict: an error line stays the first
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
