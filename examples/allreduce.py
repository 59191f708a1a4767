"""A worker for `rendezvous-di run`: joins the process group and does a real gloo all_reduce."""

import torch
import torch.distributed as dist


def main() -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value)
    expected = world * (world + 1) // 2
    status = "ok" if int(value.item()) == expected else "MISMATCH"
    print(
        f"rank {rank}/{world}: all_reduce sum={int(value.item())} expected={expected} {status}",
        flush=True,
    )
    dist.destroy_process_group()
    if status != "ok":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
