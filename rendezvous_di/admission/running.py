"""Node checks: run on this machine before its agent joins; the first failure refuses it.

Each check runs contained (`rendezvous_di.admission.contained`) and bounded
by its timeout; every result is logged with its numbers and handed to
``report`` (``rendezvous-di run`` prints it as a progress line). A check
that fails, or cannot run (``error``), refuses the node: `AdmissionRefused`
names the check and the reason, and the agent exits 1 without joining.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import RendezvousDIError
from .result import CheckResult
from .selection import Selected

logger = logging.getLogger("rendezvous_di.admission")
logger.addHandler(logging.NullHandler())  # progress lines say it; no lastResort echo
Report = Callable[[str], None]


class AdmissionRefused(RendezvousDIError):
    """A node check failed, or a group check found a fault the group cannot re-form without.

    Attributes:
        result: the check's result, with its reason and measurements.
    """

    def __init__(self, message: str, result: CheckResult) -> None:
        super().__init__(message)
        self.result = result


def node_context(local_addr: str | None = None) -> dict[str, Any]:
    """What every node check is told about this machine (plain JSON: it crosses to a child)."""
    return {
        "node": socket.gethostname(),
        "local_addr": local_addr,
        "cwd": os.getcwd(),
        "tmpdir": tempfile.gettempdir(),
    }


def run_check(selected: Selected, context: Mapping[str, Any]) -> CheckResult:
    """One check, contained, within its timeout."""
    from .contained import run_in_child, run_in_thread

    check = selected.check
    if check.target is not None:
        return run_in_child(check.name, check.target, selected.options, context, selected.timeout)
    assert check.function is not None, f"check {check.name!r} has neither a target nor a function"
    return run_in_thread(check.name, check.function, selected.options, context, selected.timeout)


def run_node_checks(
    selected: Iterable[Selected],
    *,
    local_addr: str | None = None,
    report: Report | None = None,
    stop_at_failure: bool = True,
) -> list[CheckResult]:
    """Run the node checks of ``selected`` in order; their results.

    Raises:
        AdmissionRefused: with ``stop_at_failure``, at the first check that does not admit.
    """
    context = node_context(local_addr)
    results = []
    for item in selected:
        if item.check.kind != "node":
            continue
        result = run_check(item, context)
        results.append(result)
        _log(result, report, where=f"on {context['node']}")
        if stop_at_failure and not result.admits:
            raise AdmissionRefused(refusal(result), result)
    return results


def refusal(result: CheckResult) -> str:
    """The one line a refused node ends with."""
    verb = "failed" if result.status == "failed" else "could not run"
    return f"admission check {result.check!r} {verb}: {result.reason or result.status}"


def _log(result: CheckResult, report: Report | None, *, where: str) -> None:
    text = f"{result.line()} [{where}]"
    logger.log(logging.INFO if result.admits else logging.WARNING, "admission: %s", text)
    if report is not None:
        report(text)
