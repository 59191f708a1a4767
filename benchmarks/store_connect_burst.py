"""Many processes opening TCPStore connections at one instant.

``python -m benchmarks.store_connect_burst [--processes N] [--steps ...] [--rounds R]``.

Why this exists: in the rendezvous benchmark, 16 c10d agents with ``sync=event``
took 5 s to create their handlers in most rounds, where polling agents
mostly took milliseconds. This script reproduces it with torch's TCPStore
alone, no rendezvous-di code on the path but the probe: a store server
(torch's default, libuv) in this process, and ``processes`` processes that
wait for the same instant, then each run ``connections`` of these steps in
order:

1. ``probe``: a plain socket greeting (`rendezvous_di.backends.tcp_store.ask`),
   then closed;
2. ``client``: a ``TCPStore`` client, as torch's c10d backend makes;
3. ``clone``: ``client.clone()``, as the event listener makes.

The cause is not the store: torch's client looks up the name of the address
it connected to (``getnameinfo``, in its socket formatter), ``::ffff:127.0.0.1``
is in no hosts file, and the sandbox's DNS server leaves some of those
questions unanswered, so the connection waits out glibc's 5 s resolver
timeout (``RES_OPTIONS=timeout:1`` makes the stall 1 s; plain sockets, which
look nothing up, never stall). More connections at once, more stalls.
``--private-network`` runs the same bursts in a network namespace of their own
(`benchmarks.private_network`), where no DNS server answers or is waited for.

It prints the slowest process's seconds for each step, per burst::

    python -m benchmarks.store_connect_burst --processes 16 --steps probe,client,clone
    python -m benchmarks.store_connect_burst --processes 48 --steps client
    python -m benchmarks.store_connect_burst --processes 24 --private-network

Measured on this project's 2-core sandbox: see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import time
from contextlib import ExitStack
from typing import Any

from .private_network import private_network

STEPS = ("probe", "client", "clone")


def _process(port: int, steps: list[str], start: float, out: Any) -> None:
    import torch.distributed as dist

    from rendezvous_di.backends.tcp_store import ask

    while time.time() < start:
        time.sleep(0.0005)
    seconds: dict[str, float] = {}
    client: Any = None
    kept: list[Any] = []
    for step in steps:
        began = time.monotonic()
        if step == "probe":
            ask("127.0.0.1", port, 60)
        elif step == "client":
            client = dist.TCPStore(  # type: ignore[attr-defined]
                "127.0.0.1", port, is_master=False, timeout=datetime.timedelta(seconds=60)
            )
        else:
            kept.append(client.clone())
        seconds[step] = time.monotonic() - began
    out.put(seconds)
    time.sleep(2)  # every connection stays open until the whole burst is over


def burst(processes: int, steps: list[str], rounds: int) -> list[dict[str, float]]:
    """The slowest process's seconds per step, for each of ``rounds`` bursts."""
    import torch.distributed as dist

    context = multiprocessing.get_context("spawn")
    server = dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1",
        0,
        is_master=True,
        wait_for_workers=False,
        timeout=datetime.timedelta(seconds=60),
    )
    results = []
    for _ in range(rounds):
        out = context.Queue()
        start = time.time() + 5 + processes * 0.1  # every process imported torch by then
        group = [
            context.Process(target=_process, args=(server.port, steps, start, out))
            for _ in range(processes)
        ]
        for process in group:
            process.start()
        answers = [out.get(timeout=120) for _ in group]
        for process in group:
            process.join()
        results.append({step: max(a[step] for a in answers) for step in steps})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.store_connect_burst")
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--steps", default="probe,client,clone")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--private-network", action="store_true")
    args = parser.parse_args()
    steps = args.steps.split(",")
    unknown = sorted(set(steps) - set(STEPS))
    clone_first = "clone" in steps and (
        "client" not in steps or steps.index("clone") < steps.index("client")
    )
    if unknown or clone_first or args.processes < 1 or args.rounds < 1:
        parser.error(
            f"steps are {', '.join(STEPS)} (clone after client); processes and rounds at least 1"
        )
    with ExitStack() as stack:
        if args.private_network and not stack.enter_context(private_network()):
            parser.error("--private-network needs root (a network namespace of its own)")
        bursts = burst(args.processes, steps, args.rounds)
    for index, slowest in enumerate(bursts):
        shown = ", ".join(f"{step} {seconds:.3f} s" for step, seconds in slowest.items())
        print(f"burst {index}: slowest {shown}")


if __name__ == "__main__":
    main()
