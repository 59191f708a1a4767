"""Heartbeats at scale: ``python -m benchmarks.liveness_simulated [SIZES [INTERVAL,ATTEMPTS
[VARIANTS]]]`` (VARIANTS: ``c10d-keys,etcd-v3-state``...; all four by default).

Simulated agents (threads in host processes, as in `benchmarks.rendezvous_simulated`),
one real TCPStore and one real etcd, each behind a counting proxy. For every size and
backend, the group forms once per ``heartbeats`` mode, event-driven (so that even
1,024 nodes form: torch's own waiting does not form 256), and then:

- **steady**: after two intervals (the first beats are spread over one), the
  proxy counts a window of ``WINDOW_INTERVALS`` intervals: bytes the agents sent
  (all requests), bytes of writes' bodies, bytes the store answered, requests per
  agent per second;
- **drop**: one agent's heartbeats stop (torch's ``_stop_heartbeats``: its
  handler stays, silent, as a dead agent's); the coordinator reads the state
  from the store directly (not through the proxy) until the node is gone from
  the participants: the seconds from the silence to that write.

``heartbeats=state`` is torch's beating exactly (each beat rewrites the whole
state with a compare-and-set); the formation before it is ours, which does not
change what a beat costs.
"""

from __future__ import annotations

import base64
import functools
import json
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .counting_proxy import Counts, counting_proxy
from .private_network import network_note, private_network
from .rendezvous_simulated import AGENTS_PER_HOST, hosts, tcp_store
from .store_counting_proxy import store_counting_proxy

REPO = Path(__file__).resolve().parents[1]
SIZES = (256, 1024)
INTERVAL, ATTEMPTS = 5, 3  # torch's defaults
WINDOW_INTERVALS = 3
VARIANTS: tuple[tuple[str, str], ...] = (
    ("c10d", "state"),
    ("c10d", "keys"),
    ("etcd-v3", "state"),
    ("etcd-v3", "keys"),
)
COUNT_ALL_UP_TO = 256
"""Agents the counting proxies carry (a thread per connection, Python parsing every
request): beyond it, only the first host's agents go through them, and the store's
figures are theirs scaled up (every agent does the same work)."""
DROP_PATIENCE = 60.0  # seconds past the expiry before a drop counts as never


def _state_reader(backend: str, endpoint: str, run_id: str) -> Callable[[], Any]:
    """Reads the rendezvous state straight from the store (no proxy): torch's object."""
    if backend == "c10d":
        from datetime import timedelta

        import torch.distributed as dist

        host, port = endpoint.rsplit(":", 1)
        store = dist.TCPStore(  # type: ignore[attr-defined]
            host, int(port), is_master=False, timeout=timedelta(seconds=30)
        )

        def read_c10d() -> Any:
            value = store.get(f"torch.rendezvous.{run_id}")
            return pickle.loads(base64.b64decode(value))

        return read_c10d
    from rendezvous_di.backends.etcd_v3.client import EtcdClient, first_kv, unb64
    from rendezvous_di.backends.etcd_v3.endpoints import parse_endpoints

    client = EtcdClient(parse_endpoints(endpoint), timeout=30)
    key = f"/torch/elastic/rendezvous/{run_id}/state".encode()

    def read_etcd() -> Any:
        kv = first_kv(client.range(key))
        assert kv is not None
        return pickle.loads(unb64(kv.get("value")))

    return read_etcd


def _rates(
    before: Counts, after: Counts, seconds: float, agents: int, counted: int
) -> dict[str, float]:
    """The store's rates for ``agents``, from what ``counted`` of them did (all, or a sample)."""
    d = after - before
    scale = agents / counted / seconds
    return {
        "sent_bytes_per_s": (d.bytes_total - d.bytes_read) * scale,
        "write_body_bytes_per_s": d.write_body_bytes * scale,
        "read_bytes_per_s": d.bytes_read * scale,
        "requests_per_agent_s": d.requests / seconds / counted,
        "state_reads_per_agent_s": d.state_reads / seconds / counted,
        "lost_cas_per_s": d.conflicts * scale,
    }


def measure(
    sizes: Sequence[int] = SIZES,
    interval: int = INTERVAL,
    attempts: int = ATTEMPTS,
    variants: Sequence[tuple[str, str]] = VARIANTS,
) -> dict[str, Any]:
    """Every size and variant, once: formation, the steady window, one drop."""
    from tests.support.etcd_server import EtcdServer

    rows: list[dict[str, Any]] = []
    with private_network() as private, ExitStack() as stack:
        store = stack.enter_context(tcp_store())
        host, port = store.rsplit(":", 1)
        c10d_proxy = stack.enter_context(store_counting_proxy((host, int(port))))
        etcd = stack.enter_context(EtcdServer(enable_v2=False))
        etcd_proxy = stack.enter_context(counting_proxy(("127.0.0.1", etcd.client_port)))
        for size in sizes:
            with hosts(max(1, size // AGENTS_PER_HOST)) as pool:
                for backend, heartbeats in variants:
                    proxy: Any = c10d_proxy if backend == "c10d" else etcd_proxy
                    direct = store if backend == "c10d" else etcd.endpoint
                    run_id = f"live-{size}-{backend}-{heartbeats}"
                    conf: dict[str, Any] = {
                        "join_timeout": 600,
                        "last_call_timeout": 1,
                        "keep_alive_interval": interval,
                        "keep_alive_max_attempt": attempts,
                        "heartbeats": heartbeats,
                        "sync": "event",
                    }
                    if backend == "c10d":
                        conf["is_host"] = False
                    else:
                        conf["lease_ttl"] = max(60, interval * attempts * 2)
                    row: dict[str, Any] = {"agents": size, "backend": backend, "mode": heartbeats}
                    sys.stderr.write(f"liveness: {size} agents, {backend} {heartbeats}...\n")

                    then = functools.partial(
                        _steady_and_drop,
                        row,
                        pool,
                        proxy,
                        _state_reader(backend, direct, run_id),
                        size,
                        interval,
                        attempts,
                    )
                    command = {
                        "mode": "event",
                        "backend": backend,
                        "endpoint": proxy.endpoint,
                        "run_id": run_id,
                        "nodes": size,
                        "conf": conf,
                    }
                    first_host = None
                    if size > COUNT_ALL_UP_TO:  # a sample: the first host's agents
                        command["endpoint"] = direct
                        first_host = {"endpoint": proxy.endpoint}
                    formed = pool.round(command, size, then=then, first_host=first_host)
                    row["formation_s"] = formed["seconds"]
                    row["errors"] = formed["errors"]
                    sys.stderr.write(f"  {json.dumps(row)}\n")
                    rows.append(row)
    return {
        "network": "private" if private else "machine",
        "interval_s": interval,
        "attempts": attempts,
        "window_intervals": WINDOW_INTERVALS,
        "rows": rows,
    }


def _steady_and_drop(
    row: dict[str, Any],
    pool: Any,
    proxy: Any,
    read: Callable[[], Any],
    agents: int,
    interval: int,
    attempts: int,
) -> None:
    """Into ``row``: the steady rates, then the seconds to drop one silenced agent."""
    time.sleep(2 * interval)  # past the first beats (spread over one interval)
    before, started = proxy.snapshot(), time.monotonic()
    time.sleep(WINDOW_INTERVALS * interval)
    after, seconds = proxy.snapshot(), time.monotonic() - started
    counted = agents if agents <= COUNT_ALL_UP_TO else pool.shares(agents)[0]
    measured: dict[str, Any] = _rates(before, after, seconds, agents, counted)
    measured["counted"] = counted
    # Still every agent? torch's way under load drops live nodes (beats come late).
    measured["members"] = len(read().participants)
    node = pool.ask(0, {"op": "silence", "index": 0})["node"]
    silenced = time.monotonic()
    limit = silenced + interval * attempts + DROP_PATIENCE
    dropped = None
    while time.monotonic() < limit:
        if node not in {repr(n) for n in read().participants}:
            dropped = time.monotonic() - silenced
            break
        time.sleep(0.1)
    measured["drop_s"] = dropped
    measured["expiry_s"] = interval * attempts
    row.update(measured)


def markdown(summary: dict[str, Any], command: str) -> str:
    lines = [
        f"Measured with `{command}` ({network_note(summary)}): keep_alive_interval "
        f"{summary['interval_s']} s, keep_alive_max_attempt {summary['attempts']} (torch's "
        f"expiry {summary['interval_s'] * summary['attempts']} s); steady figures over "
        f"{summary['window_intervals']} intervals; agents are threads in "
        f"{AGENTS_PER_HOST}-agent host processes on this machine's 2 cores. Above "
        f"{COUNT_ALL_UP_TO} agents the store's figures are a sample's scaled up: the first "
        "host's agents alone go through the counting proxy.",
        "",
        "| agents | backend | heartbeats | formed | sent B/s | write bodies B/s | read B/s "
        "| requests / agent / s | lost CAS / s | drop one dead agent |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in summary["rows"]:
        formed = "not formed" if r.get("formation_s") is None else f"{r['formation_s']:.1f} s"
        drop = "-" if r.get("drop_s") is None else f"{r['drop_s']:.1f} s"
        if r.get("members", r["agents"]) < r["agents"]:  # the round had lost live nodes
            drop = f"{drop} ({r['members']} of {r['agents']} left)"
        if "sent_bytes_per_s" not in r:
            lines.append(
                f"| {r['agents']} | {r['backend']} | {r['mode']} | {formed} | - | - | - "
                "| - | - | - |"
            )
            continue
        lines.append(
            f"| {r['agents']} | {r['backend']} | {r['mode']} | {formed} "
            f"| {r['sent_bytes_per_s']:,.0f} | {r['write_body_bytes_per_s']:,.0f} "
            f"| {r['read_bytes_per_s']:,.0f} | {r['requests_per_agent_s']:.2f} "
            f"| {r['lost_cas_per_s']:.2f} | {drop} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    sizes = tuple(int(x) for x in sys.argv[1].split(",")) if len(sys.argv) > 1 else SIZES
    interval, attempts = INTERVAL, ATTEMPTS
    if len(sys.argv) > 2:
        interval, attempts = (int(x) for x in sys.argv[2].split(","))
    variants = VARIANTS
    if len(sys.argv) > 3:
        variants = tuple(
            (name.rsplit("-", 1)[0], name.rsplit("-", 1)[1]) for name in sys.argv[3].split(",")
        )
    command = " ".join(["python -m benchmarks.liveness_simulated", *sys.argv[1:]])
    summary = measure(sizes, interval, attempts, variants)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "liveness_simulated" + "".join(f"-{a}" for a in sys.argv[1:]).replace(",", "_")
    (out / f"{name}.json").write_text(json.dumps({**summary, "command": command}, indent=2) + "\n")
    table = markdown(summary, command)
    (out / f"{name}.md").write_text(table)
    sys.stdout.write(table)


if __name__ == "__main__":
    main()
