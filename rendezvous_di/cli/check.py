"""``rendezvous-di check``: is this node ready to rendezvous? Answer before a job burns GPU hours.

Validates the effective configuration as the job would (TLS files read and
all), then runs the selected backend's probe (its description's) within
``--timeout`` seconds. With ``--admission`` (or the ``admission`` setting)
it also runs the selected node checks here, without joining (group checks
need a formed round: they are listed, not run). Exit codes: 0 ready, 1
unreachable or a node check failed (what failed and how to fix it on
stderr), 2 invalid configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ..config.flags import add_admission_flag
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
    add_admission_flag(parser, what="whose node checks run here, without joining")
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
    from ..run import selected_admission

    selected = selected_admission(container, settings)  # bad names or options: exit 2
    result = probe(settings, description, deadline)
    admitted = _node_checks(selected, settings, out, err, as_json=as_json)
    if as_json:
        data = _as_json(settings, result, timeout)
        data["admission"] = [r.to_json() for r in admitted]
        data["ready"] = result.ok and all(r.admits for r in admitted)
        json.dump(data, out, indent=2)
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
    refused = [r for r in admitted if not r.admits]
    if not as_json:
        from ..admission.running import refusal

        for failed in refused:
            err.write(f"error: {one_line(refusal(failed))}\n")
    warn_about_policy(settings, err)  # after the verdict: an error line stays the first
    return 0 if result.ok and not refused else 1


def _node_checks(
    selected: tuple[Any, ...], settings: Any, out: TextIO, err: TextIO, *, as_json: bool
) -> list[Any]:
    """Run the selected node checks here (never joining); list the group checks."""
    if not selected:
        return []
    from ..admission.running import run_node_checks

    def report(text: str) -> None:
        if not as_json:
            out.write(f"admission: {text}\n")

    results = run_node_checks(
        selected, local_addr=settings.local_addr, report=report, stop_at_failure=False
    )
    for item in selected:
        if item.check.kind == "group" and not as_json:
            out.write(
                f"admission: {item.name} not run here (a group check: it runs after a "
                "round forms, before the workers start)\n"
            )
    return results


def _as_json(settings: RendezvousSettings, result: ProbeResult, timeout: float) -> dict[str, Any]:
    return {
        "ready": result.ok,
        "backend": settings.backend,
        "endpoint": settings.endpoint,
        "timeout": timeout,
        "detail": result.detail,
        "fix": result.fix,
    }
