"""``gpu``: every visible device takes an allocation and a matmul, and gets it right.

A GPU can be listed by the driver yet fail on first use (an ECC error, a
fallen-off-the-bus device, a wedged context). Each visible CUDA device
allocates ``size_mb`` MiB and multiplies two ``matmul_size`` square matrices;
the product of a matrix of ones is checked against its known value. Without
CUDA (a CPU-only torch, or no device) the check is skipped, with the reason.
Runs in a child process: a device that hangs is killed at the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any


def check(options: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Allocate and matmul on each visible CUDA device."""
    import torch

    if not torch.cuda.is_available():
        why = (
            f"torch {torch.__version__} is built without CUDA"
            if torch.version.cuda is None
            else "CUDA is not available (no visible device, or the driver failed to load)"
        )
        return {"status": "skipped", "reason": why}
    size = int(options["matmul_size"])
    elements = int(float(options["size_mb"]) * (1 << 20) / 4)
    measurements: dict[str, float] = {}
    problems: list[str] = []
    for index in range(torch.cuda.device_count()):
        device = torch.device("cuda", index)
        try:
            started = time.perf_counter()
            block = torch.empty(elements, dtype=torch.float32, device=device)
            block.fill_(1.0)
            ones = torch.ones(size, size, dtype=torch.float32, device=device)
            product = ones @ ones
            torch.cuda.synchronize(device)
            measurements[f"cuda{index}_ms"] = round((time.perf_counter() - started) * 1000, 2)
            ends = (float(block[0].item()), float(block[-1].item()))
            if not bool(torch.all(product == size).item()) or ends != (1.0, 1.0):
                problems.append(f"cuda:{index} computed a wrong result")
            del block, ones, product
        except Exception as error:  # the device is the problem, not the check
            problems.append(f"cuda:{index} ({torch.cuda.get_device_name(index)}): {error}")
    measurements["devices"] = float(torch.cuda.device_count())
    if problems:
        return {"status": "failed", "reason": "; ".join(problems), "measurements": measurements}
    return {"status": "passed", "measurements": measurements}


check.admission_summary = (  # type: ignore[attr-defined]
    "each visible CUDA device allocates and multiplies matrices; skipped without CUDA"
)
check.admission_kind = "node"  # type: ignore[attr-defined]
check.admission_timeout = 120  # type: ignore[attr-defined]
check.admission_options = {  # type: ignore[attr-defined]
    "size_mb": {
        "type": "float",
        "default": 256.0,
        "help": "MiB each device allocates",
        "minimum": 1,
    },
    "matmul_size": {
        "type": "int",
        "default": 1024,
        "help": "side of the square matrices multiplied on each device (exact in float32 "
        "up to 2**24)",
        "minimum": 1,
        "maximum": 8192,
    },
}
