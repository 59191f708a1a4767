"""A worker for `rendezvous-di run`: joins the process group and does a real gloo all_reduce."""

import sys

import torch
import torch.distributed as dist


def main() -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value)
    expected = world * (world + 1) // 2
    status = "ok" if int(value.item()) == expected else "MISMATCH"
    line = f"rank {rank}/{world}: all_reduce sum={int(value.item())} expected={expected} {status}"
    # One write per line: print() writes the text and the newline separately, and two
    # workers sharing the terminal would interleave them ("...okrank 0/2...").
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    dist.destroy_process_group()
    if status != "ok":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
