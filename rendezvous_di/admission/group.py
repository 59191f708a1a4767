"""Group checks, between a round forming and its workers starting: re-form without a faulty node.

`admit_group` wraps a handler's ``next_rendezvous`` (torch's rendezvous state
machine is untouched): after each round the wrapper runs every group check
on every agent, contained in a thread and bounded by its timeout. Rank 0's
verdict is the group's (published on the round's store, so every agent acts
on the same one). Then:

- no fault: the round is returned and the workers start;
- this node is faulty: it leaves the round without closing the rendezvous
  and its agent exits 1 with one ``error:`` line naming it and the numbers;
- another node is faulty and the group keeps ``min_nodes`` without it: the
  others call ``next_rendezvous`` again, as torch's agent does on a restart,
  and the new round forms without the faulty node (it left), then is checked again;
- too few nodes would remain: every agent stops with one line naming the
  node and the measurement.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from .result import CheckResult, error
from .running import AdmissionRefused, Report, run_check
from .selection import Selected

logger = logging.getLogger("rendezvous_di.admission")
PREFIX = "rendezvous_di.admission"
MAX_ROUNDS = 16
"""Most rounds one ``next_rendezvous`` call checks before it gives up re-forming."""


def node_name(local_addr: str | None) -> str:
    host = socket.gethostname()
    return host if not local_addr or local_addr == host else f"{host} ({local_addr})"


def admit_group(
    handler: Any,
    selected: Sequence[Selected],
    *,
    min_nodes: int,
    local_addr: str | None = None,
    report: Report | None = None,
) -> Any:
    """Make ``handler.next_rendezvous`` run the group checks of ``selected``; the handler.

    Nothing changes when no group check is selected.
    """
    group = [s for s in selected if s.check.kind == "group"]
    if not group:
        return handler
    joined: Callable[[], Any] = handler.next_rendezvous
    shutdown: Callable[[], bool] = handler.shutdown
    evicted: list[bool] = []

    def next_rendezvous() -> Any:
        for _ in range(MAX_ROUNDS):
            info = joined()
            faulty = _check_round(info, group, local_addr, report)
            if faulty is None:
                return info
            result, ranks = faulty
            if info.rank in ranks:
                evicted.append(True)
                raise AdmissionRefused(
                    f"admission check {result.check!r}: this node is faulty: "
                    f"{result.faulty[info.rank]}",
                    result,
                )
            left = info.world_size - len(ranks)
            if left < min_nodes:
                raise AdmissionRefused(
                    f"admission check {result.check!r}: {result.reason}; the group cannot "
                    f"re-form without it ({left} node(s) left, min_nodes {min_nodes})",
                    result,
                )
            _say(
                report,
                f"{result.check}: re-forming without rank(s) "
                f"{', '.join(map(str, ranks))} ({left} node(s) left, min_nodes {min_nodes})",
            )
        raise AdmissionRefused(
            f"admission: the group did not pass its checks in {MAX_ROUNDS} rounds",
            error("admission", "too many rounds"),
        )

    def shutdown_without_closing() -> bool:
        """A node refused by a group check leaves its round; it must not close the rendezvous
        the others re-form in (torch's launcher calls ``shutdown`` as the agent exits)."""
        if not evicted:
            return shutdown()
        return _leave(handler)

    handler.next_rendezvous = next_rendezvous
    handler.shutdown = shutdown_without_closing
    return handler


def _check_round(
    info: Any, group: Sequence[Selected], local_addr: str | None, report: Report | None
) -> tuple[CheckResult, list[int]] | None:
    """Run the group checks on this round; the first faulty verdict and its ranks, or None."""
    from torch.distributed import PrefixStore  # type: ignore[attr-defined]

    store = PrefixStore(PREFIX, info.store)
    rank, size = info.rank, info.world_size
    me = node_name(local_addr)
    store.set(f"node/{rank}", me)
    wait = timedelta(seconds=max(s.timeout for s in group) + 30)
    store.wait([f"node/{r}" for r in range(size)], wait)
    nodes = [store.get(f"node/{r}").decode() for r in range(size)]
    context = {
        "store": store,
        "rank": rank,
        "world_size": size,
        "nodes": nodes,
        "local_addr": local_addr,
        "node": me,
    }
    for selected in group:
        mine = run_check(selected, context)
        key = f"verdict/{selected.name}"
        if rank == 0:
            store.set(key, json.dumps(mine.to_json()))
        store.wait([key], wait)
        verdict = CheckResult.from_json(json.loads(store.get(key))).timed(mine.seconds)
        _say(report, f"{verdict.line()} [rank {rank} of {size}, verdict of rank 0]")
        if verdict.status == "error":
            raise AdmissionRefused(
                f"admission check {verdict.check!r} could not run: {verdict.reason}", verdict
            )
        if verdict.faulty:
            return verdict, sorted(verdict.faulty)
    return None


def _leave(handler: Any) -> bool:
    """Leave the current round without closing the rendezvous (torch's dynamic handler).

    Uses the dynamic handler's own exit operation, the one ``next_rendezvous``
    starts with; a handler without one is simply not closed, and the others
    drop this node when its heartbeats stop.
    """
    stop = getattr(handler, "_stop_heartbeats", None)
    if callable(stop):
        stop()
    executor = getattr(handler, "_op_executor", None)
    settings = getattr(handler, "_settings", None)
    if executor is None or settings is None:
        return True
    try:
        from torch.distributed.elastic.rendezvous.dynamic_rendezvous import _RendezvousExitOp

        deadline = handler._get_deadline(settings.timeout.close)
        executor.run(_RendezvousExitOp(), deadline)
    except Exception as problem:  # leaving is best effort: the heartbeat timeout drops us
        logger.warning("admission: leaving the round failed: %s", problem)
    return True


def _say(report: Report | None, text: str) -> None:
    logger.info("admission: %s", text)
    if report is not None:
        report(text)
