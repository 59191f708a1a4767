"""Stop signals: ``run`` ends the same way on SIGTERM and SIGINT in every phase.

Before torch's launcher is imported a signal raises `StopSignal`; afterwards
torch's own ``SignalException``, so that its agent stops the workers as it does
once they run. `is_stop` tells either (and Ctrl-C's ``KeyboardInterrupt``) from a
failure, by type.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

TORCH_SIGNALS = "torch.distributed.elastic.multiprocessing.api"
"""The torch module that defines ``SignalException`` (imported with torch's launcher)."""


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""Signals that stop ``run`` the same way in every phase: one line, exit code 128 + signal."""


class StopSignal(BaseException):
    """A stop signal that arrived before torch's launcher was imported.

    A BaseException, like KeyboardInterrupt: no ``except Exception`` on the way
    may swallow it.
    """

    def __init__(self, sigval: signal.Signals) -> None:
        super().__init__(f"got signal {sigval.name}")
        self.sigval = sigval


def raise_stop(signum: int, frame: Any) -> None:
    """The handler of `STOP_SIGNALS` while the agent starts and waits at the rendezvous.

    torch installs its own handler (raising its ``SignalException``) only when it
    starts the workers: before, SIGTERM would kill the agent without a word and
    SIGINT raise KeyboardInterrupt from wherever it waits. Raising torch's own
    exception from the start makes its agent stop the same way in both phases.
    """
    sigval = signal.Signals(signum)
    api = sys.modules.get(TORCH_SIGNALS)
    exception = getattr(api, "SignalException", None)
    if exception is None:
        raise StopSignal(sigval)
    raise exception(f"Process {os.getpid()} got signal: {sigval}", sigval=sigval)


def is_stop(error: BaseException) -> bool:
    """A signal stopping the agent (torch's ``SignalException``, `StopSignal`, Ctrl-C)."""
    if isinstance(error, (KeyboardInterrupt, StopSignal)):
        return True
    signal_exception = getattr(sys.modules.get(TORCH_SIGNALS), "SignalException", None)
    return isinstance(signal_exception, type) and isinstance(error, signal_exception)
