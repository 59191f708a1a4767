"""Forming a rendezvous with 2, 8 and 16 agents on loopback, and the load on the store.

For each size a pool of agent processes (:mod:`benchmarks.rendezvous_agent`)
is started once and meets in many rounds, each on a fresh run id; the
variants take turns within the pool (a, b, b, a, ...), so a slow spell of the
machine hits every variant alike:

- ``c10d`` through our container, event-driven (``sync=event``, the default)
  and polling as torch does (``sync=poll``), against ``c10d`` through torch's
  registry, all against one external TCPStore (torch's libuv server, hosted by
  the benchmark) behind a counting proxy that parses TCPStore's protocol
  (:mod:`benchmarks.store_counting_proxy`);
- ``etcd-v3`` (ours, v3 API through etcd's gateway) event-driven and polling,
  against ``etcd-v2`` (torch's backend, v2 API), all through the container,
  against the same etcd 3.4 server started with ``--enable-v2=true``, all
  behind one counting proxy (:mod:`benchmarks.counting_proxy`).

A round is timed from the coordinator's command to the last agent's answer:
every agent creates its handler and calls ``next_rendezvous`` (``min_nodes =
max_nodes = N``, so the round closes when the last agent joins). The agents
then idle like torchrun's agent with its workers running
(keep-alive thread, ``num_nodes_waiting`` every 0.1 s) for a few keep-alive
intervals, and the proxies' counts give the requests and the bytes read per agent, per
rendezvous and per keep-alive interval, and the bytes of each write.
"""

from __future__ import annotations

import json
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from .counting_proxy import CountingProxy, Counts, counting_proxy
from .paired import interval_text, paired_ratio
from .private_network import network_note, private_network
from .store_counting_proxy import StoreCountingProxy, store_counting_proxy

TORCHS = {"sync": "poll", "heartbeats": "state"}
"""The ``poll`` variants: torch's waiting and torch's beats, through our container."""

REPO = Path(__file__).resolve().parents[1]
SIZES = (2, 8, 16)
KEEP_ALIVE_INTERVAL = 1  # seconds; short, so a steady window of a few intervals is quick
STEADY_INTERVALS = 3
COUNTED_ROUNDS = 3
"""Pairs run again through the counting proxies, for the requests and the steady load.

The timed rounds reach the stores directly: a proxy in Python adds its own latency to
every request, and the event-driven variants make more (small) requests than polling,
so timing through it would charge them for the instrument."""
# Generous: 16 agents on a loaded 2-core machine; nothing here should ever time out.
COMMON_CONF = {
    "join_timeout": 300,
    "close_timeout": 120,
    "heartbeat_timeout": 120,
    "read_timeout": 300,
}
# torch drops from its view of the state any node whose last heartbeat is older than
# keep_alive_interval x keep_alive_max_attempt, and its own cadence lets heartbeats land up
# to about 2 x keep_alive_interval + 1 s apart (the keep-alive timer beats only when the last
# beat is older than one interval; the join loop pauses 1 s between reads). With 1 s x 3 the
# margin was under a second: with 16 agents on a loaded machine an agent that read the
# completed round late dropped a finished one and answered world 15 while the others said 16.
# 10 attempts make the threshold 10 s; they change no request count (only when a node is dead).
KEEP_ALIVE_MAX_ATTEMPT = 10
ETCD_CONF = {
    **COMMON_CONF,
    "keep_alive_interval": KEEP_ALIVE_INTERVAL,
    "keep_alive_max_attempt": KEEP_ALIVE_MAX_ATTEMPT,
}
ANSWER_TIMEOUT = 600.0

C10D_EVENT, C10D_POLL, C10D_TORCH = "c10d event", "c10d poll", "c10d torch"
V3_EVENT, V3_POLL, V2 = "etcd-v3 event", "etcd-v3 poll", "etcd-v2"


def heartbeat_interval() -> float:
    """The interval the agents really beat at: ours, or the 5 s torch 2.6 always uses.

    torch 2.6's ``from_backend`` takes no keep-alive settings (for etcd-v2 as for
    etcd-v3), so a steady window of three 1 s intervals would see no write at all.
    """
    from rendezvous_di.backends.etcd_v3 import handler

    if handler._from_backend_takes_keep_alive():
        return KEEP_ALIVE_INTERVAL
    return handler.TORCH_FIXED_KEEP_ALIVE["keep_alive_interval"]


@dataclass
class Variant:
    """One way of forming the rendezvous, and what its rounds measured."""

    label: str
    backend: str
    mode: str  # "ours" (through the container) or "torch" (torch's registry)
    conf: dict[str, Any] = field(default_factory=dict)  # added to every agent's options
    seconds: list[float] = field(default_factory=list)
    create_seconds: list[float] = field(default_factory=list)  # the slowest agent's creation
    per_rendezvous: list[float] = field(default_factory=list)  # requests per agent
    conflicts: list[float] = field(default_factory=list)  # lost CAS per agent per rendezvous
    per_interval: list[float] = field(default_factory=list)  # requests per agent per interval
    writes_per_interval: list[float] = field(default_factory=list)
    conflicts_per_interval: list[float] = field(default_factory=list)
    write_bytes: list[float] = field(default_factory=list)  # body bytes per write, steady
    read_bytes: list[float] = field(default_factory=list)  # bytes read per agent per rendezvous
    read_bytes_per_interval: list[float] = field(default_factory=list)  # per agent, steady
    state_reads: list[float] = field(default_factory=list)  # answers carrying the state, per agent
    state_reads_per_interval: list[float] = field(default_factory=list)  # per agent, steady

    def extend(self, other: Variant) -> None:
        """Add ``other``'s figures (one pair's round) to this variant's."""
        for name in (f.name for f in fields(self) if f.type == "list[float]"):
            getattr(self, name).extend(getattr(other, name))

    def summary(self) -> dict[str, Any]:
        def median(values: list[float]) -> float | None:
            return statistics.median(values) if values else None

        return {
            "label": self.label,
            "backend": self.backend,
            "mode": self.mode,
            "rounds": len(self.seconds),
            "seconds": median(self.seconds),
            "round_seconds": list(self.seconds),
            "create_seconds": median(self.create_seconds),
            "requests_per_agent_per_rendezvous": median(self.per_rendezvous),
            "conflicts_per_agent_per_rendezvous": median(self.conflicts),
            "requests_per_agent_per_interval": median(self.per_interval),
            "writes_per_agent_per_interval": median(self.writes_per_interval),
            "conflicts_per_agent_per_interval": median(self.conflicts_per_interval),
            "bytes_per_write": median(self.write_bytes),
            "bytes_read_per_agent_per_rendezvous": median(self.read_bytes),
            "bytes_read_per_agent_per_interval": median(self.read_bytes_per_interval),
            "state_reads_per_agent_per_rendezvous": median(self.state_reads),
            "state_reads_per_agent_per_interval": median(self.state_reads_per_interval),
        }


class AgentPool:
    """``size`` agent processes, commanded together over their stdin/stdout pipes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.processes: list[subprocess.Popen[str]] = []
        self.logs: list[IO[bytes]] = []

    def start(self) -> AgentPool:
        for _ in range(self.size):
            log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop(): the agent's stderr)
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.rendezvous_agent"],
                    cwd=REPO,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                )
            )
        self.answers("ready")
        return self

    def _log_tail(self, index: int) -> str:
        log = self.logs[index]
        log.seek(0)
        return log.read().decode(errors="replace")[-3000:]

    def send(self, commands: Sequence[dict[str, Any]]) -> None:
        for process, command in zip(self.processes, commands, strict=True):
            assert process.stdin is not None
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()

    def answers(self, key: str) -> list[dict[str, Any]]:
        """Each agent's next answer, which must carry ``key``, in agent order; the first agent
        to exit instead is an error showing its stderr (the others would only wait for it)."""
        replies: dict[int, dict[str, Any]] = {}
        with selectors.DefaultSelector() as selector:
            for index, process in enumerate(self.processes):
                assert process.stdout is not None
                selector.register(process.stdout, selectors.EVENT_READ, index)
            while len(replies) < self.size:
                events = selector.select(timeout=ANSWER_TIMEOUT)
                if not events:
                    raise RuntimeError(f"no answer {key!r} within {ANSWER_TIMEOUT}s")
                for ready, _ in events:
                    index = ready.data
                    line = ready.fileobj.readline()  # type: ignore[union-attr]
                    if not line:
                        code = self.processes[index].wait()
                        raise RuntimeError(
                            f"agent {index} of {self.size} exited ({code}):\n"
                            f"{self._log_tail(index)}"
                        )
                    reply = json.loads(line)
                    if key not in reply:
                        raise RuntimeError(f"agent {index}: expected {key!r}, got {reply}")
                    replies[index] = reply
                    selector.unregister(ready.fileobj)
        return [replies[index] for index in range(self.size)]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None and process.stdin is not None:
                try:
                    process.stdin.write('{"op": "exit"}\n')
                    process.stdin.close()
                except OSError:
                    pass
        deadline = time.monotonic() + 60
        for process in self.processes:
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


@contextmanager
def agent_pool(size: int) -> Iterator[AgentPool]:
    pool = AgentPool(size)
    try:
        yield pool.start()
    finally:
        pool.stop()


def _free_endpoint() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def run_round(
    pool: AgentPool,
    variant: Variant,
    run_id: str,
    endpoint: str | None,
    proxy: CountingProxy | StoreCountingProxy | None,
    seed: int = 0,
    timed: bool = True,
) -> None:
    """One rendezvous of the whole pool with ``variant``; its figures appended to it.

    Agent ``i`` seeds torch's pacing with ``seed + i`` (`benchmarks.paired`). A
    round through a counting ``proxy`` adds its counts, and the idle window that
    measures the steady load; ``timed`` rounds add their times."""
    size = pool.size
    if variant.backend == "c10d" and endpoint is None:  # the agents' own store, not counted
        endpoint = _free_endpoint()
        confs = [{**COMMON_CONF, "is_host": index == 0, **variant.conf} for index in range(size)]
    elif variant.backend == "c10d":  # an external TCPStore (behind the counting proxy or not)
        confs = [{**ETCD_CONF, "is_host": False, **variant.conf} for _ in range(size)]
    else:
        confs = [{**ETCD_CONF, **variant.conf} for _ in range(size)]
    assert endpoint is not None
    commands = [
        {
            "op": "round",
            "mode": variant.mode,
            "backend": variant.backend,
            "endpoint": endpoint,
            "run_id": run_id,
            "nodes": size,
            "conf": conf,
            "seed": seed + index,
        }
        for index, conf in enumerate(confs)
    ]
    before = proxy.snapshot() if proxy else Counts()
    started = time.monotonic()
    pool.send(commands)
    done = pool.answers("done")
    if timed:
        variant.seconds.append(max(d["done"] for d in done) - started)
        variant.create_seconds.append(max(d["create_s"] for d in done))
    worlds = {d["world"] for d in done}
    ranks = sorted(d["rank"] for d in done)
    split = worlds != {size} or ranks != list(range(size))
    if proxy is not None and not split:
        formed = proxy.snapshot()
        joined = formed - before
        variant.per_rendezvous.append(joined.requests / size)
        variant.conflicts.append(joined.conflicts / size)
        variant.read_bytes.append(joined.bytes_read / size)
        variant.state_reads.append(joined.state_reads / size)
    if proxy is not None and not split:
        # Every agent idle, its keep-alive thread on, and past its first beat after the join
        # (event-driven nodes delay it by up to half an interval, and make it read first):
        # that beat belongs to joining, once a job, not to the steady load.
        time.sleep(1.5 * heartbeat_interval())
        window_start = proxy.snapshot()
        time.sleep(STEADY_INTERVALS * heartbeat_interval())
        window = proxy.snapshot() - window_start
        variant.per_interval.append(window.requests / size / STEADY_INTERVALS)
        variant.writes_per_interval.append(window.writes / size / STEADY_INTERVALS)
        variant.conflicts_per_interval.append(window.conflicts / size / STEADY_INTERVALS)
        variant.read_bytes_per_interval.append(window.bytes_read / size / STEADY_INTERVALS)
        variant.state_reads_per_interval.append(window.state_reads / size / STEADY_INTERVALS)
        if window.writes:
            variant.write_bytes.append(window.write_body_bytes / window.writes)
    pool.send([{"op": "end"}] * size)
    pool.answers("closed")
    if split:
        raise SplitRound(f"{variant.label}: worlds {sorted(worlds)}, ranks {ranks}")


class SplitRound(RuntimeError):
    """The agents of one round disagreed on the world (torch dropped a live node)."""


def run_pairs(
    pool: AgentPool,
    pair: Sequence[Variant],
    rounds: int,
    endpoint: str | None,
    proxy: CountingProxy | StoreCountingProxy | None,
    timed: bool = True,
) -> list[str]:
    """``rounds`` sets of rounds, one per variant: a, b, c, then c, b, a, ... (no variant
    always runs first), all rounds of a set on one seed. A set with a split round is left
    out of every variant's figures (so the sets stay paired); the splits are returned, to
    be reported."""
    splits: list[str] = []
    for index in range(rounds):
        order = pair if index % 2 == 0 else list(reversed(pair))
        fresh = [Variant(v.label, v.backend, v.mode, dict(v.conf)) for v in order]
        try:
            for variant in fresh:
                kind = "timed" if timed else "counted"
                run_id = f"{variant.label.replace(' ', '-')}-{pool.size}-{kind}-{index}"
                seed = _seed(pool.size, index)
                run_round(pool, variant, run_id, endpoint, proxy, seed, timed)
        except SplitRound as split:
            splits.append(f"pair {index}: {split}")
            sys.stderr.write(f"rendezvous scale: {pool.size} agents, {split}; pair left out\n")
            continue
        for variant in fresh:
            next(v for v in pair if v.label == variant.label).extend(variant)
    return splits


@contextmanager
def etcd_servers() -> Iterator[tuple[str, str, CountingProxy]]:
    """etcd 3.4 with the v2 API on (both backends use it): its version, its endpoint, and
    a counting proxy in front of it."""
    from tests.support.etcd_server import EtcdServer

    with ExitStack() as stack:
        server = stack.enter_context(EtcdServer(enable_v2=True))
        proxy = stack.enter_context(counting_proxy(("127.0.0.1", server.client_port)))
        version = json.loads(_get(f"{server.url}/version"))["etcdserver"]
        yield version, f"127.0.0.1:{server.client_port}", proxy


@contextmanager
def tcp_store_server() -> Iterator[tuple[str, StoreCountingProxy]]:
    """A TCPStore server (libuv, torch's default) in this process: its endpoint, and a
    counting proxy in front of it.

    The c10d agents all connect as clients (``is_host=false``), as they would to
    a store that a job's launcher or a sidecar hosts, so that the proxy sees
    every request of every agent.
    """
    from datetime import timedelta

    import torch.distributed as dist

    server = dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=300)
    )
    try:
        with store_counting_proxy(("127.0.0.1", server.port)) as proxy:
            yield f"127.0.0.1:{server.port}", proxy
    finally:
        del server


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def measure(
    rounds: int, sizes: Sequence[int] = SIZES, etcd_backends: Sequence[str] = ("etcd-v2", "etcd-v3")
) -> dict[str, Any]:
    """Every size's variants, ``rounds`` rounds each; a JSON-ready summary."""
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    with (
        private_network() as private,
        etcd_servers() as (version, etcd_endpoint, proxy),
        tcp_store_server() as (store_endpoint, store_proxy),
    ):
        for size in sizes:
            sys.stderr.write(f"rendezvous scale: {size} agents...\n")
            c10d = [
                Variant(C10D_EVENT, "c10d", "ours", {"sync": "event"}),
                Variant(C10D_POLL, "c10d", "ours", TORCHS),
                Variant(C10D_TORCH, "c10d", "torch"),
            ]
            etcd = [
                Variant(V3_EVENT, "etcd-v3", "ours", {"sync": "event"}),
                Variant(V3_POLL, "etcd-v3", "ours", TORCHS),
                *(Variant(V2, "etcd-v2", "ours") for name in etcd_backends if name == "etcd-v2"),
            ]
            try:
                with agent_pool(size) as pool:
                    # One warm-up round each (first connections, lazy imports), not kept.
                    for v in (*c10d, *etcd):
                        warm = Variant(v.label, v.backend, v.mode, dict(v.conf))
                        where = store_endpoint if v.backend == "c10d" else etcd_endpoint
                        run_round(pool, warm, f"warm-{size}-{v.label}", where, None)
                    splits = run_pairs(pool, c10d, rounds, store_endpoint, None)
                    splits += run_pairs(pool, etcd, rounds, etcd_endpoint, None)
                    counted = min(rounds, COUNTED_ROUNDS)
                    splits += run_pairs(
                        pool, c10d, counted, store_proxy.endpoint, store_proxy, False
                    )
                    splits += run_pairs(pool, etcd, counted, proxy.endpoint, proxy, False)
                if not c10d[0].seconds or not etcd[0].seconds:
                    raise RuntimeError(f"no pair without a split: {'; '.join(splits)}")
            except RuntimeError as error:
                # One size failing (an agent timed out on an overloaded machine) keeps the
                # others' figures; the failure is reported with the results, not hidden.
                failures.append({"agents": size, "error": str(error)[-2000:]})
                sys.stderr.write(f"rendezvous scale: {size} agents failed: {error}\n")
                continue
            rows.append(
                {
                    "agents": size,
                    "split_pairs": splits,
                    "variants": [v.summary() for v in (*c10d, *etcd)],
                    "paired": {
                        "c10d": asdict(paired_ratio(c10d[0].seconds, c10d[2].seconds)),
                        "c10d_poll": asdict(paired_ratio(c10d[0].seconds, c10d[1].seconds)),
                        "poll_torch": asdict(paired_ratio(c10d[1].seconds, c10d[2].seconds)),
                        "etcd": asdict(paired_ratio(etcd[0].seconds, etcd[1].seconds)),
                        **(
                            {"etcd_v2": asdict(paired_ratio(etcd[0].seconds, etcd[2].seconds))}
                            if len(etcd) > 2
                            else {}
                        ),
                    },
                }
            )
    return {
        "etcd_version": version,
        "keep_alive_interval_s": heartbeat_interval(),
        "steady_intervals": STEADY_INTERVALS,
        "rounds": rounds,
        "sizes": rows,
        "failed": failures,
        "network": "private" if private else "machine",
    }


def _seed(size: int, pair: int) -> int:
    """The seed of one pair's rounds (agent ``i`` adds ``i``): the same for both variants."""
    return 1_000_000 * size + 1000 * pair


def variant(row: dict[str, Any], label: str) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in row["variants"] if v["label"] == label)
    return found


def has(row: dict[str, Any], label: str) -> bool:
    return any(v["label"] == label for v in row["variants"])


# -- extrapolation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """``value = intercept + slope * nodes``, least squares over the measured sizes."""

    intercept: float
    slope: float

    def at(self, nodes: int) -> float:
        return self.intercept + self.slope * nodes


def fit(points: Sequence[tuple[float, float]]) -> Fit:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mean_x, mean_y = statistics.mean(xs), statistics.mean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:  # one size measured: proportional to the nodes, the best one point says
        return Fit(0.0, mean_y / mean_x)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return Fit(mean_y - slope * mean_x, slope)


def extrapolate(
    summary: dict[str, Any], nodes: Sequence[int] = (1024, 4096), interval: float = 5.0
) -> list[dict[str, Any]]:
    """The store's steady load at ``nodes`` with torch's default keep-alive (``interval`` s).

    Two kinds of request make the steady load, measured per agent: writes, one
    compare-and-set of the state key per keep-alive interval (more when one
    loses its race), and reads, from the agent's ``num_nodes_waiting`` polls,
    which torch's one-second state cache bounds to about one a second
    whatever the interval. Both grow linearly with the nodes. The state key
    grows linearly too (fitted over the measured sizes) and every write
    carries all of it, so the bytes written grow with the square of the nodes.
    """
    measured_interval = float(summary.get("keep_alive_interval_s", KEEP_ALIVE_INTERVAL))
    out = []
    for label in (C10D_TORCH, C10D_POLL, C10D_EVENT, V2, V3_POLL, V3_EVENT):
        rows = [
            (r["agents"], variant(r, label))
            for r in summary["sizes"]
            if has(r, label) and variant(r, label)["requests_per_agent_per_interval"] is not None
        ]
        if not rows:  # every size failed, or its steady load was not measured
            continue
        if any(v["bytes_per_write"] is None for _, v in rows):
            continue  # no steady write of the state (beats in keys): liveness_simulated's
        per_interval = statistics.mean(v["requests_per_agent_per_interval"] for _, v in rows)
        writes = statistics.mean(v["writes_per_agent_per_interval"] for _, v in rows)
        reads_per_s = (per_interval - writes) / measured_interval
        size = fit([(n, v["bytes_per_write"]) for n, v in rows])
        for count in nodes:
            writes_per_s = count * writes / interval
            state_bytes = size.at(count)
            out.append(
                {
                    "backend": label,
                    "nodes": count,
                    "keep_alive_interval_s": interval,
                    "requests_per_s": count * reads_per_s + writes_per_s,
                    "reads_per_s": count * reads_per_s,
                    "writes_per_s": writes_per_s,
                    "state_bytes": state_bytes,
                    "state_bytes_per_node": size.slope,
                    "write_bytes_per_s": writes_per_s * state_bytes,
                }
            )
    return out


# -- tables ------------------------------------------------------------------------------------


def markdown(summary: dict[str, Any], command: str) -> str:
    lines = [
        f"Measured with `{command}` (etcd {summary['etcd_version']}; {network_note(summary)}; "
        f"{summary['rounds']} paired rounds per comparison, times are medians, ratios the "
        f"pairs' geometric mean with its 95% interval; keep-alive every "
        f"{summary['keep_alive_interval_s']} s, steady window of "
        f"{summary['steady_intervals']} intervals; the counts come from "
        f"{min(summary['rounds'], COUNTED_ROUNDS)} further pairs through the counting "
        "proxies, the times from rounds without them).",
        "",
        "Forming the group, c10d (an external TCPStore; torch's libuv server):",
        "",
        "| agents | event | poll | torch's registry | event / torch (95%) "
        "| event / poll (95%) | poll / torch (95%) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in summary["sizes"]:
        event, poll, torch = (variant(row, x) for x in (C10D_EVENT, C10D_POLL, C10D_TORCH))
        paired = row["paired"]
        lines.append(
            f"| {row['agents']} | {event['seconds']:.3f} s | {poll['seconds']:.2f} s "
            f"| {torch['seconds']:.2f} s | {_interval(paired['c10d'])} "
            f"| {_interval(paired['c10d_poll'])} | {_interval(paired['poll_torch'])} |"
        )
    lines += [
        "",
        "Forming the group, etcd:",
        "",
        "| agents | etcd-v3 event | etcd-v3 poll | etcd-v2 | event / poll (95%) "
        "| event / etcd-v2 (95%) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in summary["sizes"]:
        event, poll = variant(row, V3_EVENT), variant(row, V3_POLL)
        v2 = f"{variant(row, V2)['seconds']:.2f} s" if has(row, V2) else "-"
        versus_v2 = _interval(row["paired"]["etcd_v2"]) if "etcd_v2" in row["paired"] else "-"
        lines.append(
            f"| {row['agents']} | {event['seconds']:.3f} s | {poll['seconds']:.2f} s | {v2} "
            f"| {_interval(row['paired']['etcd'])} | {versus_v2} |"
        )
    lines += [
        "",
        "Creating the handler, the slowest agent of a round (median):",
        "",
        "| agents | " + " | ".join(LABELS) + " |",
        "| ---: |" + " ---: |" * len(LABELS),
    ]
    for row in summary["sizes"]:
        cells = [
            variant(row, label).get("create_seconds") if has(row, label) else None
            for label in LABELS
        ]
        shown = " | ".join("-" if c is None else f"{c * 1000:.1f} ms" for c in cells)
        lines.append(f"| {row['agents']} | {shown} |")
    lines += [
        "",
        "Requests to the store per agent (through the counting proxies; medians). Forming: "
        "the whole round. Steady: per keep-alive interval, with the group formed. State "
        "reads: answers that carry the rendezvous state (a read, or a compare-and-set's "
        "answer), what a polling node repeats every second:",
        "",
        "| agents | variant | requests forming | state reads forming | lost CAS forming "
        "| KiB read forming | requests steady | state reads steady | writes steady "
        "| lost CAS steady | bytes read steady | bytes per write |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in summary["sizes"]:
        for label in (C10D_TORCH, C10D_POLL, C10D_EVENT, V2, V3_POLL, V3_EVENT):
            if not has(row, label):
                continue
            v = variant(row, label)
            read = v.get("bytes_read_per_agent_per_rendezvous")
            lines.append(
                f"| {row['agents']} | {label} | {_number(v['requests_per_agent_per_rendezvous'])} "
                f"| {_number(v.get('state_reads_per_agent_per_rendezvous'))} "
                f"| {_number(v['conflicts_per_agent_per_rendezvous'])} "
                f"| {_number(None if read is None else read / 1024)} "
                f"| {_number(v['requests_per_agent_per_interval'], 2)} "
                f"| {_number(v.get('state_reads_per_agent_per_interval'), 2)} "
                f"| {_number(v['writes_per_agent_per_interval'], 2)} "
                f"| {_number(v['conflicts_per_agent_per_interval'], 2)} "
                f"| {_number(v.get('bytes_read_per_agent_per_interval'), 0)} "
                f"| {_number(v['bytes_per_write'], 0)} |"
            )
    for row in summary["sizes"]:
        for split in row.get("split_pairs", []):
            lines += ["", f"{row['agents']} agents, left out: {split} (torch dropped a live node)."]
    for failed in summary.get("failed", []):
        last = failed["error"].strip().splitlines()[-1] if failed["error"].strip() else "?"
        lines += ["", f"{failed['agents']} agents: not measured, the run failed ({last})."]
    lines += [
        "",
        "Extrapolated steady load on the store (torch's default keep-alive, every 5 s):",
        "",
        "| backend | nodes | requests/s | reads/s | writes/s | bytes per write | bytes/s written |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for e in summary["extrapolation"]:
        lines.append(
            f"| {e['backend']} | {e['nodes']} | {e['requests_per_s']:.0f} "
            f"| {e['reads_per_s']:.0f} | {e['writes_per_s']:.0f} "
            f"| {e['state_bytes'] / 1024:.0f} KiB "
            f"| {e['write_bytes_per_s'] / 2**20:.0f} MiB/s |"
        )
    return "\n".join(lines) + "\n"


LABELS = (C10D_EVENT, C10D_POLL, C10D_TORCH, V3_EVENT, V3_POLL, V2)


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(paired: dict[str, Any]) -> str:
    return interval_text(paired["ratio"], paired["low"], paired["high"])


def write(summary: dict[str, Any], out: Path, command: str) -> str:
    """``rendezvous_scale.json`` and ``.md`` in ``out``; returns the markdown."""
    summary = {**summary, "extrapolation": extrapolate(summary), "command": command}
    out.mkdir(parents=True, exist_ok=True)
    (out / "rendezvous_scale.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = markdown(summary, command)
    (out / "rendezvous_scale.md").write_text(table)
    return table


def results_dict(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for the suite's results table, as ``Result`` keyword arguments.

    Event-driven formation against torch's time with the same settings: at
    most 0.25 of it (issue "event-driven rendezvous").
    """
    rows: list[dict[str, Any]] = []
    for row in summary["sizes"]:
        n = row["agents"]
        comparisons = (
            ("c10d, event vs torch's registry", C10D_EVENT, C10D_TORCH, "c10d", 0.25, "torch"),
            ("etcd-v3, event vs poll", V3_EVENT, V3_POLL, "etcd", 0.25, "etcd-v3 poll"),
        )
        for name, ours_label, base_label, key, target, baseline in comparisons:
            ours, base, paired = (
                variant(row, ours_label),
                variant(row, base_label),
                row["paired"][key],
            )
            rows.append(
                dict(
                    name=f"rendezvous of {n} agents: {name}",
                    unit="s",
                    ours=ours["seconds"],
                    torch=base["seconds"],
                    target=target,
                    baseline=baseline,
                    paired=paired["ratio"],
                    low=paired["low"],
                    high=paired["high"],
                )
            )
    return rows
