"""``--scheduler``: defined once for the CLI's commands and for ``rendezvous_di.run.main``.

Its value is checked with the other settings (`detection.read_choice`), not
by argparse, so a bad one gives the same ``error:`` line whichever source
(flag, ``RENDEZVOUS_DI_SCHEDULER``, ``scheduler:`` in a file) gave it.
"""

from __future__ import annotations

import argparse
from typing import Any

from .detection import CHOICES, SCHEDULER_ENV

FLAG = "--scheduler"


def add_scheduler_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler`` to ``parser`` (stored as ``scheduler``, None when not given)."""
    parser.add_argument(
        FLAG,
        dest="scheduler",
        metavar="{" + ",".join(CHOICES) + "}",
        help="take the rendezvous a scheduler gave this node (Slurm: first node, node count, "
        "job id; Kubeflow: its master variables), under the config file "
        f"(default auto: detected; env {SCHEDULER_ENV})",
    )


def scheduler_flag(args: argparse.Namespace) -> dict[str, Any]:
    """``--scheduler`` as an entry of the container's ``flags`` (empty when not given)."""
    from ..sources import FlagValue

    given = getattr(args, "scheduler", None)
    return {} if given is None else {"scheduler": FlagValue(given, FLAG)}
