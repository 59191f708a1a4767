"""Losing a host mid-training: ``python -m benchmarks.recovery [TRIALS [VARIANTS [SETTINGS]]]``.

Four network-namespace hosts: hosts 1 to 3 each run one agent (``--nnodes 2:3``,
``--max-restarts 5``) with one worker doing gloo ``all_reduce`` steps across the
hosts (``tests/multihost/worker.py``); host 4 runs the store (a TCPStore server,
or etcd 3.5), so that any training host can be lost. Once all three step at
world size 3 and have beaten for two intervals and a part of one (drawn per
trial, the same in each variant: `_steady_for`), host 1 is killed whole
(agent and worker at once, SIGKILL): it held rank 0, where torch's agents keep
the workers' store. Measured: the seconds from
the kill until both survivors' workers step at world size 2 again. A trial that
does not get there within `LIMIT` seconds did not recover.

Variants:

- ``torch-c10d``: plain ``torchrun`` (torch's registry, torch's handler, torch's
  defaults, store sharing included), c10d on host 4's TCPStore;
- ``torch-c10d-unshared``: the same with ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1``,
  torch's switch for the cached workers' store that fails its recovery, so
  that what remains is torch's rendezvous against ours;
- ``c10d-keys``, ``etcd-v3-keys``: ``rendezvous-di run`` with event-driven
  waiting and beats in keys;
- ``c10d-state``, ``etcd-v3-state``: ``rendezvous-di run`` with torch's waiting
  and beats (``sync=poll,heartbeats=state``).

Settings (``keep_alive_interval``, ``keep_alive_max_attempt``,
``last_call_timeout``): ``fast`` 1/2/2 and ``slow`` 2/3/5 (the two of the
trials that first showed torch's recovery failing), ``default`` torch's 5/3/30.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {"fast": (1, 2, 2), "slow": (2, 3, 5), "default": (5, 3, 30)}
VARIANTS = (
    "torch-c10d",
    "torch-c10d-unshared",
    "c10d-keys",
    "c10d-state",
    "etcd-v3-keys",
    "etcd-v3-state",
)
TORCH_VARIANTS = ("torch-c10d-unshared", "torch-c10d")  # the reference of a ratio, in order
STORE_PORT = 29500
LIMIT = 150.0  # seconds from the kill: past this, the trial did not recover
KEPT_LOGS = tempfile.gettempdir()  # a failed trial's hosts' logs are copied there
WORKER_STEPS = "5"  # at world size 2: five steps, then the job finishes


def _flags(variant: str, store: str, settings: tuple[int, int, int]) -> list[str]:
    interval, attempts, last_call = settings
    backend = "c10d" if "c10d" in variant else "etcd-v3"
    conf = (
        f"join_timeout=120,last_call_timeout={last_call},"
        f"keep_alive_interval={interval},keep_alive_max_attempt={attempts}"
    )
    if backend == "c10d":
        conf += ",is_host=0"
    else:
        conf += f",lease_ttl={max(60, interval * attempts * 2)}"
    if variant.endswith("-keys"):
        conf += ",sync=event,heartbeats=keys"
    elif variant.endswith("-state"):
        conf += ",sync=poll,heartbeats=state"
    return ["--rdzv-backend", backend, "--rdzv-endpoint", store, "--rdzv-conf", conf]


@contextmanager
def _store(network: Any, variant: str) -> Iterator[str]:
    from tests.support.etcd_server import ETCD_35
    from tests.support.netns import etcd_on_host, tcp_store_on_host

    host = network.hosts[3]
    if "c10d" in variant:
        with tcp_store_on_host(host, STORE_PORT):
            yield f"{host.address}:{STORE_PORT}"
        return
    with etcd_on_host(host, enable_v2=False, binary=ETCD_35) as server:
        yield server.endpoint


def _agent(host: Any, variant: str, flags: list[str], run_id: str) -> Any:
    from tests.support.agents import start_agent

    if variant.startswith("torch-c10d"):  # the same line, through torch's own launcher
        return _torchrun(host, flags, run_id, share=variant == "torch-c10d")
    return start_agent(
        host,
        rdzv=[*flags, "--rdzv-id", run_id],
        worker_args=[WORKER_STEPS, "3"],
        max_restarts=5,
    )


def _torchrun(host: Any, flags: list[str], run_id: str, share: bool) -> Any:
    from tests.support.agents import WORKER
    from tests.support.netns import IFNAME
    from tests.support.procs import clean_environ

    args = [
        *(sys.executable, "-m", "torch.distributed.run", "--nnodes", "2:3"),
        *("--nproc-per-node", "1", "--max-restarts", "5", "--monitor-interval", "0.5"),
        *("--local-addr", host.address, *flags, "--rdzv-id", run_id),
        *(str(WORKER), WORKER_STEPS, "3"),
    ]
    environ = clean_environ(
        {"GLOO_SOCKET_IFNAME": IFNAME, "TEST_HOST": str(host.index), "PYTHONPATH": str(REPO)}
    )
    if not share:  # torch's switch for its cached workers' store (docs/fault-tolerance.md)
        environ["TORCH_DISABLE_SHARE_RDZV_TCP_STORE"] = "1"
    return host.start(args, log_name="agent", env=environ)


def _stepping(agent: Any, world: int) -> bool:
    return f"world={world} sum=" in agent.output()


def _steady_for(interval: int, index: int) -> float:
    """Seconds the group trains before the kill: two keep-alive intervals, then a part of
    one drawn for the trial (the same in each variant of a pair).

    A host dies at any point of its beats' cycle. Killed as soon as the workers step,
    it died before its first beat (at the defaults, 5 s after the round), so its last
    time was its join: a polling round that took longer to form made that time older,
    and torch's expiry came sooner, by as much as the formation took.
    """
    return 2 * interval + random.Random(index).uniform(0, interval)


def trial(variant: str, settings: tuple[int, int, int], index: int) -> dict[str, Any]:
    """One trial: the seconds from the kill to both survivors stepping at world size 2."""
    from tests.support.netns import TestNetwork

    with TestNetwork(count=4) as network, ExitStack() as stack:
        store = stack.enter_context(_store(network, variant))
        flags = _flags(variant, store, settings)
        run_id = f"recovery-{variant}-{index}"
        agents = [_agent(host, variant, flags, run_id) for host in network.hosts[:3]]
        deadline = time.monotonic() + 180
        while not all(_stepping(a, 3) for a in agents):
            if time.monotonic() > deadline or any(a.process.poll() is not None for a in agents):
                return {"variant": variant, "recovered": False, "seconds": None, "why": "start"}
            time.sleep(0.1)
        time.sleep(_steady_for(settings[0], index))
        network.hosts[0].crash()  # agent and worker of rank 0's host, at once
        killed, killed_at = time.monotonic(), time.time()
        survivors = agents[1:]
        while not all(_stepping(a, 2) for a in survivors):
            ended = [a for a in survivors if a.process.poll() is not None]
            if time.monotonic() - killed > LIMIT or ended:
                tail = ended[0].output()[-600:] if ended else ""
                logs = Path(tempfile.mkdtemp(prefix=f"{run_id}-", dir=KEPT_LOGS))
                shutil.copytree(network.workdir, logs, dirs_exist_ok=True)
                return {
                    "variant": variant,
                    "recovered": False,
                    "seconds": None,
                    "why": tail,
                    "logs": str(logs),
                }
            time.sleep(0.05)
        seconds = time.monotonic() - killed
        if os.environ.get("RECOVERY_KEEP_LOGS"):  # every trial's, to read where time went
            kept = Path(tempfile.mkdtemp(prefix=f"{run_id}-", dir=KEPT_LOGS))
            shutil.copytree(network.workdir, kept, dirs_exist_ok=True)
            (kept / "killed-at.txt").write_text(f"{killed_at:.3f}\n")  # epoch seconds
        return {"variant": variant, "recovered": True, "seconds": seconds}


def main() -> None:
    if sys.argv[1:2] == ["--table"]:  # the table of a results file (a run stopped early)
        stopped: list[dict[str, Any]] = json.loads(Path(sys.argv[2]).read_text())
        sys.stdout.write(table(stopped, f"python -m benchmarks.recovery (from {sys.argv[2]})"))
        return
    # A stop (SIGTERM) unwinds like Ctrl-C: the hosts, their processes and the store go.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    variants = sys.argv[2].split(",") if len(sys.argv) > 2 else list(VARIANTS)
    chosen = sys.argv[3].split(",") if len(sys.argv) > 3 else ["fast", "slow"]
    results: list[dict[str, Any]] = []
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        for index in range(trials):
            for variant in variants if index % 2 == 0 else reversed(variants):
                got = {"settings": name, "trial": index, **trial(variant, SETTINGS[name], index)}
                sys.stderr.write(f"recovery: {json.dumps(got)[:300]}\n")
                results.append(got)
                # After every trial: a run stopped early keeps what it measured.
                (out / "recovery.json").write_text(json.dumps(results, indent=2) + "\n")
    text = table(results, f"python -m benchmarks.recovery {' '.join(sys.argv[1:])}")
    (out / "recovery.md").write_text(text)
    sys.stdout.write(text)


def table(results: list[dict[str, Any]], command: str) -> str:
    """Per settings and variant: trials recovered, the median and worst seconds, and the
    paired ratio to torch's (``torch-c10d-unshared``, else ``torch-c10d``) with its 95%
    interval over the trials both recovered in (trial i of one against trial i of the
    other: they ran back to back)."""
    from .paired import interval_text, paired_ratio

    lines = [
        f"Measured with `{command}`: seconds from killing rank 0's host to both survivors' "
        "workers stepping at world size 2.",
        "",
        "| settings | variant | recovered | median | max | to torch's (95% interval) |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    settings = list(dict.fromkeys(r["settings"] for r in results))
    variants = list(dict.fromkeys(r["variant"] for r in results))
    for name in settings:
        by_variant = {
            v: [r for r in results if r["settings"] == name and r["variant"] == v] for v in variants
        }
        reference = next((v for v in TORCH_VARIANTS if by_variant.get(v)), None)
        for variant, rows in by_variant.items():
            if not rows:
                continue
            times = [r["seconds"] for r in rows if r["recovered"]]
            median = f"{statistics.median(times):.1f} s" if times else "-"
            worst = f"{max(times):.1f} s" if times else "-"
            ratio = "-"
            if reference is not None and variant != reference:
                pairs = [
                    (ours["seconds"], torchs["seconds"])
                    for ours, torchs in zip(rows, by_variant[reference], strict=False)
                    if ours["recovered"] and torchs["recovered"]
                ]
                if pairs:
                    got = paired_ratio([a for a, _ in pairs], [b for _, b in pairs])
                    ratio = f"{interval_text(got.ratio, got.low, got.high)}, {got.pairs} pairs"
            lines.append(
                f"| {name} | {variant} | {len(times)}/{len(rows)} | {median} | {worst} | {ratio} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
