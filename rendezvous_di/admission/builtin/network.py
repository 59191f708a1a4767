"""``network``: pairwise latency and bandwidth over gloo on the CPU; a lagging node is named.

A degraded NIC or link slows every collective the node takes part in, and
nothing fails. Run by every agent of a round after it forms: the nodes are
paired as a round-robin tournament (the circle method: each round every node
has one partner, odd groups idle one), for at most ``rounds`` rounds, so the
cost stays bounded however large the group. Each pair measures the
round-trip time of a tiny message and the time to send ``size_mb`` MiB each
way (acknowledged, so it is the transfer, not a buffer), the fastest of
``transfers`` tries; a link's bandwidth is the slower direction.

Every rank publishes what it measured on the round's store, then all judge
the same numbers. A node is scored by its *best* link: a sick node has only
slow links, while a healthy node paired once with the sick one still has a
fast one. With three nodes or more, a node whose best bandwidth is below the
group's median by more than ``max_ratio`` (or whose best latency is above it
by more than ``max_latency_ratio``) is faulty; ``min_bandwidth_mb_s`` and
``max_latency_ms`` are absolute floors that apply to any group size.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

KEY = "rendezvous_di.admission.network"
LATENCY_SLACK_MS = 1.0
"""A round trip must also exceed the median's ``max_latency_ratio`` multiple by this much:
sub-millisecond jitter of a busy machine is not a sick link."""


def pairings(size: int, rounds: int) -> list[list[tuple[int, int]]]:
    """``rounds`` rounds of disjoint pairs over ``size`` ranks, no pair repeated.

    Never fewer rounds than give every node two partners (two rounds, three for an
    odd group, where each node idles once): a node scored by its best link must have
    a link that does not lead to the one sick node.
    """
    ranks: list[int | None] = list(range(size))
    if size % 2:
        ranks.append(None)
    count = len(ranks)
    schedule = []
    for _ in range(min(max(rounds, 3 if size % 2 else 2), count - 1)):
        pairs = []
        for i in range(count // 2):
            a, b = ranks[i], ranks[count - 1 - i]
            if a is not None and b is not None:
                pairs.append((min(a, b), max(a, b)))
        schedule.append(pairs)
        ranks = [ranks[0], ranks[-1], *ranks[1:-1]]  # rotate all but the first
    return schedule


def check(options: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Measure this rank's links, publish them, judge the group's."""
    rank, size = int(context["rank"]), int(context["world_size"])
    if size < 2:
        return {"status": "skipped", "reason": "one node: there is no link to measure"}
    from torch.distributed import PrefixStore  # type: ignore[attr-defined]

    store = PrefixStore(KEY, context["store"])
    gloo_timeout = timedelta(seconds=max(1.0, float(options["timeout"]) / 2))
    group = _gloo_group(store, rank, size, context.get("local_addr"), gloo_timeout)
    mine: dict[str, dict[str, float]] = {}
    for number, pairs in enumerate(pairings(size, int(options["rounds"]))):
        for a, b in pairs:
            if rank in (a, b):
                partner = b if rank == a else a
                mine[str(partner)] = _measure(group, rank, partner, number, options)
    store.set(f"links/{rank}", json.dumps(mine))
    measured = {}
    for other in range(size):
        store.wait([f"links/{other}"], gloo_timeout)
        measured[other] = {int(k): v for k, v in json.loads(store.get(f"links/{other}")).items()}
    return judge(measured, options, list(context.get("nodes") or range(size)), rank)


def _gloo_group(
    store: Any, rank: int, size: int, local_addr: str | None, timeout: timedelta
) -> Any:
    import os

    from torch.distributed import ProcessGroupGloo

    if local_addr:
        device = ProcessGroupGloo.create_device(hostname=local_addr)
    elif os.environ.get("GLOO_SOCKET_IFNAME"):
        device = ProcessGroupGloo.create_device(
            interface=os.environ["GLOO_SOCKET_IFNAME"].split(",")[0]
        )
    else:
        device = ProcessGroupGloo.create_default_device()
    options = ProcessGroupGloo._Options()  # type: ignore[attr-defined]
    options._devices = [device]
    options._timeout = timeout
    return ProcessGroupGloo(store, rank, size, options)


def _measure(
    group: Any, rank: int, partner: int, number: int, options: Mapping[str, Any]
) -> dict[str, float]:
    """Round trips (the lower rank times them) and each direction's transfer, with ``partner``."""
    import torch

    lower = rank < partner
    tag = 100_000 * (number + 1)
    tiny = torch.zeros(1)
    payload = torch.ones(max(1, int(float(options["size_mb"]) * (1 << 20) / 4)))

    def send(tensor: Any, step: int) -> None:
        group.send([tensor], partner, tag + step).wait()

    def recv(tensor: Any, step: int) -> None:
        group.recv([tensor], partner, tag + step).wait()

    # One exchange to open the connection before anything is timed.
    if lower:
        send(tiny, 0)
        recv(tiny, 1)
    else:
        recv(tiny, 0)
        send(tiny, 1)
    round_trips = []
    for i in range(int(options["repeats"])):
        step = 2 + 2 * i
        if lower:
            started = time.perf_counter()
            send(tiny, step)
            recv(tiny, step + 1)
            round_trips.append(time.perf_counter() - started)
        else:
            recv(tiny, step)
            send(tiny, step + 1)
    step = 2 + 2 * int(options["repeats"])
    sent = 0.0
    for direction in (0, 1):
        sender = lower == (direction == 0)
        for attempt in range(int(options["transfers"])):
            at = step + 2 * (direction * 100 + attempt)
            if sender:  # the best of the transfers: a scheduling hiccup is not the link
                started = time.perf_counter()
                send(payload, at)
                recv(tiny, at + 1)  # acknowledged: the data arrived
                seconds = max(time.perf_counter() - started, 1e-9)
                sent = max(sent, payload.numel() * 4 / (1 << 20) / seconds)
            else:
                recv(payload, at)
                send(tiny, at + 1)
    found = {"sent_mb_s": sent}
    if round_trips:
        found["rtt_ms"] = min(round_trips) * 1000  # the floor: a delayed link delays them all
    return found


def judge(
    measured: Mapping[int, Mapping[int, Mapping[str, float]]],
    options: Mapping[str, Any],
    nodes: list[Any],
    rank: int = 0,
) -> dict[str, Any]:
    """The group's verdict from every rank's measurements (the same on every rank)."""
    bandwidth: dict[int, list[float]] = {r: [] for r in measured}
    latency: dict[int, list[float]] = {r: [] for r in measured}
    for a, links in measured.items():
        for b, found in links.items():
            if a < b:
                back = measured.get(b, {}).get(a, {})
                link_bw = min(found.get("sent_mb_s", 0.0), back.get("sent_mb_s", 0.0))
                rtt = found.get("rtt_ms")
                for node in (a, b):
                    bandwidth[node].append(link_bw)
                    if rtt is not None:
                        latency[node].append(rtt)
    best_bw = {r: max(v) for r, v in bandwidth.items() if v}
    best_rtt = {r: min(v) for r, v in latency.items() if v}
    median_bw = statistics.median(best_bw.values()) if best_bw else 0.0
    median_rtt = statistics.median(best_rtt.values()) if best_rtt else 0.0
    ratio, rtt_ratio = float(options["max_ratio"]), float(options["max_latency_ratio"])
    floor_bw, ceiling_rtt = float(options["min_bandwidth_mb_s"]), float(options["max_latency_ms"])
    relative = len(best_bw) >= 3
    faulty: dict[int, str] = {}
    for node in sorted(best_bw):
        bw, rtt = best_bw[node], best_rtt.get(node)
        name = nodes[node] if node < len(nodes) else node
        why = []
        if relative and ratio > 0 and bw * ratio < median_bw:
            why.append(
                f"best link {bw:.1f} MiB/s against the group's median {median_bw:.1f} MiB/s "
                f"({median_bw / max(bw, 1e-9):.1f}x slower; max_ratio {ratio:g})"
            )
        if floor_bw > 0 and bw < floor_bw:
            why.append(f"best link {bw:.1f} MiB/s, below min_bandwidth_mb_s {floor_bw:g}")
        lagging = rtt is not None and rtt > median_rtt * rtt_ratio + LATENCY_SLACK_MS
        if rtt is not None and relative and rtt_ratio > 0 and lagging:
            why.append(
                f"best round trip {rtt:.2f} ms against the group's median {median_rtt:.2f} ms "
                f"(max_latency_ratio {rtt_ratio:g})"
            )
        if rtt is not None and ceiling_rtt > 0 and rtt > ceiling_rtt:
            why.append(f"best round trip {rtt:.2f} ms, above max_latency_ms {ceiling_rtt:g}")
        if why:
            faulty[node] = f"node {name} (rank {node}): " + "; ".join(why)
    measurements = {
        "nodes": float(len(measured)),
        "median_best_mb_s": round(median_bw, 1),
        "median_best_rtt_ms": round(median_rtt, 3),
    }
    if rank in best_bw:
        measurements["this_best_mb_s"] = round(best_bw[rank], 1)
    for node in faulty:
        measurements[f"rank{node}_best_mb_s"] = round(best_bw[node], 1)
    if faulty:
        return {
            "status": "failed",
            "reason": "; ".join(faulty.values()),
            "faulty": faulty,
            "measurements": measurements,
        }
    note = "" if relative else "two nodes: only the absolute floors apply"
    return {"status": "passed", "reason": note, "measurements": measurements}


check.admission_summary = (  # type: ignore[attr-defined]
    "pairwise latency and bandwidth over gloo; a node whose links lag the group's median is faulty"
)
check.admission_kind = "group"  # type: ignore[attr-defined]
check.admission_timeout = 120  # type: ignore[attr-defined]
check.admission_options = {  # type: ignore[attr-defined]
    "rounds": {
        "type": "int",
        "default": 3,
        "help": "most pairing rounds (each node gets one partner per round)",
        "minimum": 1,
        "maximum": 64,
    },
    "size_mb": {
        "type": "float",
        "default": 4.0,
        "help": "MiB sent each way on each link to measure its bandwidth",
        "minimum": 0.001,
        "maximum": 1024,
    },
    "repeats": {
        "type": "int",
        "default": 5,
        "help": "round trips timed per link (the fastest counts)",
        "minimum": 1,
        "maximum": 1000,
    },
    "transfers": {
        "type": "int",
        "default": 3,
        "help": "transfers of size_mb each way per link (the fastest counts: a busy CPU "
        "is not a slow link)",
        "minimum": 1,
        "maximum": 100,
    },
    "max_ratio": {
        "type": "float",
        "default": 3.0,
        "help": "a node whose best link bandwidth is this many times below the group's "
        "median is faulty (three nodes or more; 0: off)",
        "minimum": 0,
    },
    "max_latency_ratio": {
        "type": "float",
        "default": 10.0,
        "help": "a node whose best round trip is this many times the group's median, plus "
        "1 ms, is faulty (three nodes or more; 0: off)",
        "minimum": 0,
    },
    "min_bandwidth_mb_s": {
        "type": "float",
        "default": 0.0,
        "help": "a node whose best link is below this many MiB/s is faulty (0: off)",
        "minimum": 0,
    },
    "max_latency_ms": {
        "type": "float",
        "default": 0.0,
        "help": "a node whose best round trip is above this many ms is faulty (0: off)",
        "minimum": 0,
    },
}
