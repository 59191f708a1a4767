"""A stop signal, told from a failure by type: what no ``except BaseException`` may keep.

Code that contains whatever a plugin or a platform module raises (``SystemExit``
included) must still let a stop signal through, or SIGTERM during a plugin's
import would be reported as that plugin's failure and the command would go
on. `StopSignal` is what our handler raises before torch's launcher is
imported; afterwards it raises torch's own ``SignalException``, so that torch's
agent stops its workers. `rendezvous_di.cli.signals` installs the handler.
"""

from __future__ import annotations

import signal
import sys

TORCH_SIGNALS = "torch.distributed.elastic.multiprocessing.api"
"""The torch module that defines ``SignalException`` (imported with torch's launcher)."""


class StopSignal(BaseException):
    """A stop signal that arrived before torch's launcher was imported.

    A BaseException, like KeyboardInterrupt: no ``except Exception`` on the way
    may swallow it.
    """

    def __init__(self, sigval: signal.Signals) -> None:
        super().__init__(f"got signal {sigval.name}")
        self.sigval = sigval


def is_stop(error: BaseException) -> bool:
    """A signal stopping the command (torch's ``SignalException``, `StopSignal`, Ctrl-C)."""
    if isinstance(error, (KeyboardInterrupt, StopSignal)):
        return True
    signal_exception = getattr(sys.modules.get(TORCH_SIGNALS), "SignalException", None)
    return isinstance(signal_exception, type) and isinstance(error, signal_exception)
