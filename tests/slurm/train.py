"""The training script of the Slurm tests: one real gloo all_reduce across every worker.

Each worker prints one line, ``TRAIN {json}``: its host name (the Slurm node it
ran on), rank, world size, the all_reduce sum and the run id torch's agent gave
it, so a test sees whether the agents of one ``srun`` formed ONE job.
"""

import datetime
import json
import os
import socket
import sys

import torch
import torch.distributed as dist


def main() -> None:
    # Bounded: a worker whose peers never come fails the test instead of hanging it.
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=120))
    rank, world = dist.get_rank(), dist.get_world_size()
    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value)
    report = {
        "host": socket.gethostname(),
        "rank": rank,
        "world": world,
        "sum": int(value.item()),
        "run_id": os.environ.get("TORCHELASTIC_RUN_ID"),
        "slurm_job": os.environ.get("SLURM_JOB_ID"),
        "slurm_step": os.environ.get("SLURM_STEP_ID"),
        "step_nodes": os.environ.get("SLURM_STEP_NODELIST"),
        "master": f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}",
    }
    # One write per line: workers on three nodes share srun's stdout.
    sys.stdout.write("TRAIN " + json.dumps(report, sort_keys=True) + "\n")
    sys.stdout.flush()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
