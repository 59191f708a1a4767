"""Group checks around ``next_rendezvous``, one agent's side, with torch's own HashStore.

The multi-host test (test_network_hosts.py) runs the whole story on real
hosts; these cover the decisions a single agent makes from a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from rendezvous_di.admission.check import from_callable
from rendezvous_di.admission.group import admit_group
from rendezvous_di.admission.result import normalize
from rendezvous_di.admission.running import AdmissionRefused
from rendezvous_di.admission.selection import Selected

torch_distributed = pytest.importorskip("torch.distributed")


def faulty_rank_1(options: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    return {"status": "failed", "reason": "rank 1 lags", "faulty": {1: "node b: 3 MiB/s"}}


faulty_rank_1.admission_kind = "group"  # type: ignore[attr-defined]


class Handler:
    """A handler whose rounds are given: this agent is ``rank`` of ``size`` each time."""

    def __init__(self, rank: int, size: int) -> None:
        self.store = torch_distributed.HashStore()
        self.rank, self.size, self.rounds, self.closed = rank, size, 0, False
        ours = torch_distributed.PrefixStore("rendezvous_di.admission", self.store)
        for other in range(size):  # the other agents' names, as they would publish them
            if other != rank:
                ours.set(f"node/{other}", f"host{other}")
        if rank != 0:  # rank 0's verdict, which every agent adopts
            verdict = normalize("linkcheck", faulty_rank_1({}, {}))
            ours.set("verdict/linkcheck", json.dumps(verdict.to_json()))

    def next_rendezvous(self) -> Any:
        from torch.distributed.elastic.rendezvous.api import RendezvousInfo, RendezvousStoreInfo

        self.rounds += 1
        return RendezvousInfo(self.store, self.rank, self.size, RendezvousStoreInfo("localhost", 0))

    def shutdown(self) -> bool:
        self.closed = True
        return True


def selected() -> list[Selected]:
    check = from_callable("linkcheck", faulty_rank_1)
    return [Selected(check, check.convert_options({"timeout": 5}))]


def test_the_faulty_node_leaves_without_closing_the_rendezvous() -> None:
    handler = Handler(rank=1, size=3)
    lines: list[str] = []
    admit_group(handler, selected(), min_nodes=2, report=lines.append)
    with pytest.raises(AdmissionRefused, match="this node is faulty: node b: 3 MiB/s"):
        handler.next_rendezvous()
    assert handler.shutdown() is True
    assert handler.closed is False  # torch's launcher calls shutdown: the others go on
    assert any("linkcheck failed" in line for line in lines)


def test_too_few_nodes_without_the_faulty_one_stops_the_job_with_one_line() -> None:
    handler = Handler(rank=0, size=2)
    admit_group(handler, selected(), min_nodes=2)
    with pytest.raises(AdmissionRefused) as refused:
        handler.next_rendezvous()
    assert str(refused.value) == (
        "admission check 'linkcheck': rank 1 lags; the group cannot re-form without it "
        "(1 node(s) left, min_nodes 2)"
    )
    handler.shutdown()
    assert handler.closed is True  # a stopped job closes its rendezvous as before


def test_without_group_checks_the_handler_is_untouched() -> None:
    handler = Handler(rank=0, size=2)
    original = handler.next_rendezvous
    assert admit_group(handler, [], min_nodes=1) is handler
    assert handler.next_rendezvous == original
