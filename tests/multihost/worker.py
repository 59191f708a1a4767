"""A training-like worker for the multi-host tests: real gloo all_reduce steps across hosts.

``worker.py STEPS [HOLD_AT_WORLD]``: at a world size other than HOLD_AT_WORLD it
runs STEPS all_reduce steps, checks every sum and exits 0. At HOLD_AT_WORLD it
keeps stepping until a collective fails (a host was cut, the job is being
torn down), so a test can inject a fault mid-job; if no fault comes within
HOLD_LIMIT seconds it exits 3, which fails the test instead of hanging it.
Every line starts with ``WORKER`` and carries the host's address, rank and world size.

Two environment variables serve the fault tests: with ``WORKER_UNTIL`` (a
path) the worker, after its STEPS, keeps stepping until that file exists (the
test creates it once its fault is over), also bounded by HOLD_LIMIT; with
``WORKER_REPORTS`` (a directory) a worker that finishes writes
``h<host>-restart<n>.json`` there: host, rank, world size, steps, sum, restart
count, so a test asserts on what every worker did.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time

import torch
import torch.distributed as dist

HOLD_LIMIT = 150.0
# Generous for joining: peers start their workers seconds apart on a loaded machine.
JOIN_TIMEOUT = datetime.timedelta(seconds=15)
# Small per step, so a peer that vanished without closing its sockets is noticed quickly.
STEP_TIMEOUT = datetime.timedelta(seconds=8)


def main() -> None:
    steps = int(sys.argv[1])
    hold_at = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    dist.init_process_group("gloo", timeout=JOIN_TIMEOUT)
    # gloo applies a group's own timeout to its collectives: steps run in a second group.
    steps_group = dist.new_group(backend="gloo", timeout=STEP_TIMEOUT)
    rank, world = dist.get_rank(), dist.get_world_size()
    where = f"host={os.environ.get('TEST_HOST', '?')} rank={rank} world={world}"
    restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    print(f"WORKER start {where} restart={restart}", flush=True)
    expected = world * (world + 1) // 2
    until = os.environ.get("WORKER_UNTIL")
    started = time.monotonic()
    step = 0
    while True:
        value = torch.tensor([float(rank + 1)])
        dist.all_reduce(value, group=steps_group)
        if int(value.item()) != expected:
            print(f"WORKER MISMATCH {where} sum={int(value.item())}", flush=True)
            raise SystemExit(1)
        step += 1
        print(f"WORKER step={step} {where} sum={int(value.item())}", flush=True)
        if world != hold_at and step >= steps and (until is None or os.path.exists(until)):
            break
        if until is not None and time.monotonic() - started > HOLD_LIMIT:
            print(f"WORKER {until} never came {where}", flush=True)
            raise SystemExit(3)
        if world == hold_at and time.monotonic() - started > HOLD_LIMIT:
            print(f"WORKER no fault came {where}", flush=True)
            raise SystemExit(3)
        time.sleep(0.3)
    print(f"WORKER done {where} steps={step} sum={expected}", flush=True)
    reports = os.environ.get("WORKER_REPORTS")
    if reports:
        host = os.environ.get("TEST_HOST", "?")
        report = {"host": host, "rank": rank, "world": world, "steps": step}
        report.update(sum=expected, restart=int(restart))
        path = os.path.join(reports, f"h{host}-restart{restart}.json")
        with open(path, "w") as out:
            json.dump(report, out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
