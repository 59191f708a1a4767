"""Forming one rendezvous of 64 and 256 simulated agents: event-driven, polling, torch's own.

Agents are threads (`benchmarks.simulated_host`), spread over a few host
processes, each agent with its own handler and store connection; the store
is one TCPStore (libuv) in the coordinator, or one real etcd. A round is
timed from the common start to the last agent's ``next_rendezvous`` answer
(creation is not timed: it happens before the start). Variants take turns
(a, b, c, then c, b, a) and the ratios are paired (`benchmarks.paired`).

torch's own c10d handler is given ``TORCH_JOIN_TIMEOUT`` seconds: a round
that does not form by then counts as that long, and is reported as not
formed. On this 2-core machine all agents share two cores, where real agents
would each have a machine: the absolute times are upper bounds, and the
comparisons are what the benchmark is for.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from .paired import interval_text, paired_ratio
from .private_network import network_note, private_network

REPO = Path(__file__).resolve().parents[1]
SIZES = (64, 256)
AGENTS_PER_HOST = 32
TORCH_JOIN_TIMEOUT = 120
CONF = {"join_timeout": 300, "last_call_timeout": 1, "keep_alive_max_attempt": 20}
START_AFTER = 1.0  # seconds between the last host's "created" and the common start


class Hosts:
    """Host processes of simulated agents."""

    def __init__(self, count: int) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        # The hosts' logs (torch's and ours, at AGENT_LOGLEVEL) go to this file when set.
        logs = os.environ.get("SIMULATED_HOSTS_LOG")
        env = {"TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1", "PATH": "/usr/bin:/bin"}
        if "AGENT_LOGLEVEL" in os.environ:
            env["AGENT_LOGLEVEL"] = os.environ["AGENT_LOGLEVEL"]
        for _ in range(count):
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.simulated_host"],
                    cwd=REPO,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=open(logs, "a") if logs else subprocess.DEVNULL,  # noqa: SIM115
                    text=True,
                    env=env,
                )
            )
        for process in self.processes:
            assert json.loads(_line(process.stdout))["ready"]

    def send(self, commands: Sequence[dict[str, Any]]) -> None:
        for process, command in zip(self.processes, commands, strict=True):
            assert process.stdin is not None
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()

    def ask(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        """Send ``command`` to host ``index`` alone; its answer."""
        process = self.processes[index]
        assert process.stdin is not None
        process.stdin.write(json.dumps(command) + "\n")
        process.stdin.flush()
        answer: dict[str, Any] = json.loads(_line(process.stdout))
        return answer

    def answers(self) -> list[dict[str, Any]]:
        return [json.loads(_line(process.stdout)) for process in self.processes]

    def shares(self, agents: int) -> list[int]:
        """How many of ``agents`` each host runs."""
        count = len(self.processes)
        return [agents // count + (1 if i < agents % count else 0) for i in range(count)]

    def round(
        self,
        command: dict[str, Any],
        agents: int,
        then: Callable[[], object] | None = None,
        first_host: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create ``agents`` handlers spread over the hosts, then start them together.

        Returns the seconds from the start to the last agent's answer, and
        what went wrong (a split round, errors). ``then`` runs once the round
        formed, before the handlers shut down (what the steady group is measured by).
        ``first_host`` changes the command for the first host's agents alone (a
        sample of them counted through a proxy).
        """
        count = len(self.processes)
        shares = self.shares(agents)
        first = {**command, **(first_host or {})}
        self.send(
            [
                {**(first if i == 0 else command), "op": "create", "agents": n}
                for i, n in enumerate(shares)
            ]
        )
        self.answers()
        start = time.time() + START_AFTER
        self.send([{"op": "go", "start": start}] * count)
        answers = self.answers()
        if then is not None:
            then()
        # Shut down only once every host answered: torch's join reads "closed" before
        # "complete", so a node that closes at once fails the nodes yet to read the round.
        self.send([{"op": "close"}] * count)
        self.answers()
        errors = [e for a in answers for e in a["errors"]]
        ranks = sorted(r for a in answers for r in a["ranks"])
        done = [a["done"] for a in answers if a["done"] is not None]
        formed = not errors and ranks == list(range(agents))
        return {
            "seconds": (max(done) - start) if formed else None,
            "errors": sorted(set(errors))[:5],
            "writes_per_agent": sum(a["writes"] for a in answers) / agents,
            "lost_per_agent": sum(a["lost"] for a in answers) / agents,
            "reads_per_agent": sum(a["reads"] for a in answers) / agents,
        }

    def close(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _line(stream: IO[str] | None) -> str:
    assert stream is not None
    line = stream.readline()
    if not line:
        raise RuntimeError("a simulated host ended early")
    return line


@contextmanager
def hosts(count: int) -> Iterator[Hosts]:
    made = Hosts(count)
    try:
        yield made
    finally:
        made.close()


@contextmanager
def tcp_store() -> Iterator[str]:
    """One TCPStore server (libuv) on loopback, for the whole benchmark."""
    from datetime import timedelta

    import torch.distributed as dist

    server = dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=600)
    )
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        del server


VARIANTS = (
    ("c10d", "event"),
    ("c10d", "poll"),
    ("c10d", "torch"),
    ("etcd-v3", "event"),
    ("etcd-v3", "poll"),
)


def measure(
    rounds: int | Sequence[int],
    sizes: Sequence[int] = SIZES,
    backends: Sequence[str] = ("c10d", "etcd-v3"),
) -> dict[str, Any]:
    """Every size, the variants of ``backends``, ``rounds`` paired rounds (or one per size)."""
    per_size = [rounds] * len(sizes) if isinstance(rounds, int) else list(rounds)
    variants = [(b, m) for b, m in VARIANTS if b in backends]
    from tests.support.etcd_server import EtcdServer

    rows = []
    with private_network() as private, ExitStack() as stack:
        store = stack.enter_context(tcp_store())
        etcd = stack.enter_context(EtcdServer(enable_v2=False))
        for size, rounds in zip(sizes, per_size, strict=True):
            sys.stderr.write(f"simulated rendezvous: {size} agents...\n")
            seconds: dict[str, list[float | None]] = {}
            errors: dict[str, list[str]] = {}
            writes: dict[str, list[float]] = {}
            lost: dict[str, list[float]] = {}
            reads: dict[str, list[float]] = {}
            with hosts(max(1, size // AGENTS_PER_HOST)) as pool:
                order = list(variants)
                for index in range(rounds):
                    for backend, mode in order if index % 2 == 0 else reversed(order):
                        label = f"{backend} {mode}"
                        if mode != "event" and index > 0 and seconds[label][0] is None:
                            seconds[label].append(None)  # it did not form once: not again
                            continue
                        endpoint = store if backend == "c10d" else etcd.endpoint
                        conf = dict(CONF)
                        if backend == "c10d":
                            conf["is_host"] = False
                        else:  # past keep_alive_interval x keep_alive_max_attempt (100 s)
                            conf["lease_ttl"] = 300
                        if mode != "event":  # torch's waiting: bounded, as torch's own
                            conf["join_timeout"] = TORCH_JOIN_TIMEOUT
                        command = {
                            "mode": mode,
                            "backend": backend,
                            "endpoint": endpoint,
                            "run_id": f"sim-{size}-{index}-{backend}-{mode}",
                            "nodes": size,
                            "conf": conf,
                        }
                        got = pool.round(command, size)
                        seconds.setdefault(label, []).append(got["seconds"])
                        errors.setdefault(label, []).extend(got["errors"])
                        writes.setdefault(label, []).append(got["writes_per_agent"])
                        lost.setdefault(label, []).append(got["lost_per_agent"])
                        reads.setdefault(label, []).append(got["reads_per_agent"])
                        shown = (
                            "not formed" if got["seconds"] is None else f"{got['seconds']:.2f} s"
                        )
                        sys.stderr.write(f"  {label}: {shown}\n")
            rows.append(
                {
                    "agents": size,
                    "rounds": rounds,
                    "seconds": seconds,
                    "errors": errors,
                    "writes_per_agent": writes,
                    "lost_per_agent": lost,
                    "reads_per_agent": reads,
                }
            )
    return {
        "rounds": per_size,
        "network": "private" if private else "machine",
        "sizes": rows,
        "torch_join_timeout_s": TORCH_JOIN_TIMEOUT,
        "variants": [f"{b} {m}" for b, m in variants],
    }


def _filled(values: list[float | None], missing: float) -> list[float]:
    return [missing if v is None else v for v in values]


def summarize(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per size: medians and the paired ratios of event against poll and against torch."""
    out = []
    for row in summary["sizes"]:
        seconds = row["seconds"]
        timeout = float(summary["torch_join_timeout_s"])
        medians = {
            label: (
                statistics.median(_filled(v, timeout)) if any(x is not None for x in v) else None
            )
            for label, v in seconds.items()
        }
        paired = {}
        for name, a, b in (
            ("c10d event / torch", "c10d event", "c10d torch"),
            ("c10d event / poll", "c10d event", "c10d poll"),
            ("etcd-v3 event / poll", "etcd-v3 event", "etcd-v3 poll"),
        ):
            first, second = seconds.get(a, []), seconds.get(b, [])
            if first and second and None not in first:
                paired[name] = asdict(
                    paired_ratio(_filled(first, timeout), _filled(second, timeout))
                )
        out.append(
            {
                "writes_per_agent": {
                    k: statistics.median(v) for k, v in row["writes_per_agent"].items()
                },
                "lost_per_agent": {
                    k: statistics.median(v) for k, v in row["lost_per_agent"].items()
                },
                "reads_per_agent": {
                    k: statistics.median(v) for k, v in row.get("reads_per_agent", {}).items()
                },
                "agents": row["agents"],
                "medians": medians,
                "paired": paired,
                "not_formed": {k: v.count(None) for k, v in seconds.items()},
            }
        )
    return out


def markdown(summary: dict[str, Any], command: str) -> str:
    per_size = ", ".join(f"{row['agents']}: {row['rounds']}" for row in summary["sizes"])
    lines = [
        f"Measured with `{command}` (paired rounds per size: {per_size}; "
        f"{network_note(summary)}); agents are "
        f"threads in {AGENTS_PER_HOST}-agent host processes on this machine's 2 cores, each "
        "with its own handler and store connection; one TCPStore (libuv), one etcd "
        "(v3 API). Times are medians from the common start to the last agent's answer; "
        f"torch's handler gets a {summary['torch_join_timeout_s']} s join timeout, and a "
        "round that does not form counts as that long.",
        "",
        "| agents | c10d event | c10d poll | c10d torch | event / torch (95%) "
        "| event / poll (95%) | etcd-v3 event | etcd-v3 poll | event / poll (95%) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in summarize(summary):
        m, p, nf = row["medians"], row["paired"], row["not_formed"]

        def cell(label: str, m: dict[str, Any] = m, nf: dict[str, int] = nf) -> str:
            if label not in m:
                return "-"  # not run
            value = m[label]
            if value is None:
                return "not formed"
            missed = nf.get(label, 0)
            return f"{value:.2f} s" + (f" ({missed} not formed)" if missed else "")

        def ratio(name: str, p: dict[str, Any] = p) -> str:
            r = p.get(name)
            return "-" if r is None else interval_text(r["ratio"], r["low"], r["high"])

        lines.append(
            f"| {row['agents']} | {cell('c10d event')} | {cell('c10d poll')} "
            f"| {cell('c10d torch')} | {ratio('c10d event / torch')} "
            f"| {ratio('c10d event / poll')} | {cell('etcd-v3 event')} "
            f"| {cell('etcd-v3 poll')} | {ratio('etcd-v3 event / poll')} |"
        )
    lines += [
        "",
        "Compare-and-sets of the state per agent in a round (median), those that lost "
        "their race (each carries the whole state both ways), and reads of the state:",
        "",
        "| agents | " + " | ".join(f"{b} {m}" for b, m in VARIANTS) + " |",
        "| ---: |" + " ---: |" * len(VARIANTS),
    ]
    for row in summarize(summary):
        cells = []
        for backend, mode in VARIANTS:
            label = f"{backend} {mode}"
            w, x = row["writes_per_agent"].get(label), row["lost_per_agent"].get(label)
            r = row["reads_per_agent"].get(label)
            read = "" if r is None else f", {r:.1f} reads"
            cells.append("-" if w is None else f"{w:.1f} ({x:.1f} lost{read})")
        lines.append(f"| {row['agents']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(summary: dict[str, Any], out: Path, command: str, name: str) -> str:
    """``NAME.json`` and ``NAME.md`` in ``out``; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    data = {**summary, "summary": summarize(summary), "command": command}
    (out / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    table = markdown(summary, command)
    (out / f"{name}.md").write_text(table)
    return table


def main() -> None:
    """``python -m benchmarks.rendezvous_simulated [ROUNDS [SIZES [BACKENDS]]]``.

    ROUNDS is one count or one per size; with BACKENDS (``etcd-v3``), only their
    variants run, and the results go to ``rendezvous_simulated-BACKENDS.md``.
    """
    rounds: int | list[int] = [int(x) for x in sys.argv[1].split(",")] if len(sys.argv) > 1 else 3
    if isinstance(rounds, list) and len(rounds) == 1:
        rounds = rounds[0]
    sizes = tuple(int(x) for x in sys.argv[2].split(",")) if len(sys.argv) > 2 else SIZES
    backends = sys.argv[3].split(",") if len(sys.argv) > 3 else ["c10d", "etcd-v3"]
    name = "rendezvous_simulated" + (f"-{'-'.join(backends)}" if len(sys.argv) > 3 else "")
    command = " ".join(["python -m benchmarks.rendezvous_simulated", *sys.argv[1:]])
    summary = measure(rounds, sizes, backends)
    sys.stdout.write(write(summary, REPO / "benchmarks" / "results", command, name))


if __name__ == "__main__":
    main()
