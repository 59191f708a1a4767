"""A worker for real jobs in tests: gloo all_reduce, then a JSON report per rank.

Usage: python report_worker.py OUT_DIR. Each rank writes OUT_DIR/rank<N>.json
with its rank, world size, the all_reduce sum and the rendezvous environment
torch's agent gave it, so tests assert on what the workers saw.
"""

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist


def main() -> None:
    out = Path(sys.argv[1])
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value)
    report = {
        "rank": rank,
        "world_size": world,
        "sum": int(value.item()),
        "group_rank": int(os.environ["GROUP_RANK"]),
        "master_addr": os.environ["MASTER_ADDR"],
        "run_id": os.environ.get("TORCHELASTIC_RUN_ID"),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(report))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
