"""Stop signals: every command ends within about a second of SIGTERM or SIGINT, with one line.

Before torch's launcher is imported a signal raises `StopSignal`; afterwards
torch's own ``SignalException``, so that its agent stops the workers as it does
once they run. `is_stop` tells either (and Ctrl-C's ``KeyboardInterrupt``) from a
failure, by type.

Python runs a signal handler only between two bytecodes of the main thread.
A main thread blocked inside C++ never gets there: torch's ``TCPStore``
client waiting for a static rendezvous's host, a store connection, a plugin's
C extension at import. That is where SIGTERM used to be ignored until the
static timeout (10 minutes). `stop_signals` therefore also points Python's
wakeup descriptor at a pipe (Python's C-level handler writes every signal's
number there at once, from whatever thread is running) and watches it from a
thread of its own: when our handler has not run `GRACE` seconds after a stop
signal, the main thread is stuck in C, and the watcher writes the command's
one line and ends the process with the shell's code. It acts only while our
handler is installed: once torch's agent has installed its own (as it starts
workers), torch stops the workers, and ending the process under it could
leave them running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .. import scratch
from ..stop import TORCH_SIGNALS, StopSignal, is_stop

__all__ = [
    "GRACE",
    "STOP_SIGNALS",
    "StopSignal",
    "exit_code",
    "ignoring_stop_signals",
    "is_stop",
    "raise_stop",
    "stop_signals",
]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""Signals that stop every command the same way in every phase: one line, exit 128 + signal."""

GRACE = 0.5
"""Seconds the main thread has to act on a stop signal before the watcher decides it is stuck
in C code: far above what Python needs to reach its next bytecode, well under a second."""


class _Handled:
    """The stop signals our handler has seen (set from the main thread, read by the watcher)."""

    def __init__(self) -> None:
        self.signals: set[int] = set()


_handled = _Handled()


def raise_stop(signum: int, frame: Any) -> None:
    """The handler of `STOP_SIGNALS` while a command runs, before torch's agent has its own.

    torch installs its own handler (raising its ``SignalException``) only when it
    starts the workers: before, SIGTERM would kill the agent without a word and
    SIGINT raise KeyboardInterrupt from wherever it waits. Raising torch's own
    exception from the start makes its agent stop the same way in both phases.
    """
    _handled.signals.add(signum)
    sigval = signal.Signals(signum)
    api = sys.modules.get(TORCH_SIGNALS)
    exception = getattr(api, "SignalException", None)
    if exception is None:
        raise StopSignal(sigval)
    raise exception(f"Process {os.getpid()} got signal: {sigval}", sigval=sigval)


def exit_code(sigval: signal.Signals) -> int:
    """The shell's exit code for a command ended by ``sigval``: 130 (SIGINT), 143 (SIGTERM)."""
    return 128 + int(sigval)


@contextlib.contextmanager
def stop_signals(line: Callable[[signal.Signals], str]) -> Iterator[None]:
    """`raise_stop` for `STOP_SIGNALS` and the watcher of a stuck main thread, then restored.

    ``line(sigval)`` is what the watcher writes to stderr before it ends the
    process (the line the command itself would print). Outside the main thread
    (a caller running a command from a thread of its own) nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _handled.signals.clear()
    previous = {sig: signal.signal(sig, raise_stop) for sig in STOP_SIGNALS}
    watcher = _Watcher(line)
    try:
        with watcher.watching():
            yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def ignoring_stop_signals() -> Iterator[None]:
    """While a stopped command reports, a second Ctrl-C must not add a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Watcher:
    """A thread that reads Python's wakeup pipe and ends a process stuck in C on a stop signal."""

    def __init__(self, line: Callable[[signal.Signals], str]) -> None:
        self.line = line

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)  # Python's C handler must never block on it
        try:
            previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        except (ValueError, OSError):  # not the main thread of the main interpreter
            os.close(read_end)
            os.close(write_end)
            yield
            return
        stop = threading.Event()
        thread = threading.Thread(
            target=self._watch, args=(read_end, stop), name="rendezvous-di-signals", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            stop.set()
            signal.set_wakeup_fd(previous)
            os.close(write_end)  # wakes the thread: its read returns b""
            thread.join(timeout=5)
            os.close(read_end)

    def _watch(self, read_end: int, stop: threading.Event) -> None:
        while True:
            try:
                data = os.read(read_end, 64)
            except OSError:
                return
            if not data or stop.is_set():
                return
            for signum in data:
                if signum in (int(s) for s in STOP_SIGNALS):
                    self._after_grace(signal.Signals(signum), stop)

    def _after_grace(self, sigval: signal.Signals, stop: threading.Event) -> None:
        """End the process if the main thread has not acted on ``sigval`` within `GRACE`."""
        if stop.wait(GRACE) or sigval in _handled.signals:
            return
        if signal.getsignal(sigval) is not raise_stop:
            return  # torch's agent (or the caller) handles it now: not ours to end
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(self.line(sigval) + "\n")
            sys.stderr.flush()
        scratch.remove_all()  # no finally runs past os._exit: torch's log directory goes here
        os._exit(exit_code(sigval))
