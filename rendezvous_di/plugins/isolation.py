"""Loading plugins in a child process, for the commands that diagnose them.

``rendezvous-di backends --load`` and ``rendezvous-di check`` exist to say
what is wrong with a plugin. In-process, a plugin that calls ``os._exit``,
crashes in a C extension or raises ``KeyboardInterrupt`` at import would end
(or silently interrupt) the very command meant to name it. Inside
`loading_in_a_child`, describing a plugin (its options, whether it
loads) asks ONE child process instead: it imports torch's rendezvous package
once, then loads the plugins one after another with the same
`PluginLoader` code, reporting each
result as a line of JSON on a pipe as it goes. A plugin that kills the child
is named with the exit status or signal, and a new child carries on past it,
so the cost stays near one torch import however many plugins load.

Only descriptions are isolated: creating a handler still imports the plugin
in the process that uses it (that is where the handler must live).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..backends.deadline import ProbeTimeout

if TYPE_CHECKING:
    import subprocess

    from ..backends.deadline import Deadline
    from .spec import PluginSpec

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from rendezvous_di.plugins._child import main; main(int(sys.argv[1]))"
)


@dataclass(frozen=True)
class ChildVerdict:
    """What loading one plugin in the child gave: its state, why it failed, its options.

    ``options`` is the creator's declared ``rendezvous_options`` (validated in
    the child, the plain-mapping form), None when it declares none. ``described``
    says the creator also carries a ``rendezvous_description``, whose probe and
    checks are code a pipe cannot carry.
    """

    state: Literal["loaded", "failed"]
    reason: str | None = None
    options: dict[str, dict[str, Any]] | None = None
    described: bool = False  # the creator carries a ``rendezvous_description``
    invalid_options: str | None = None  # what is wrong with its ``rendezvous_options``


class _Mode(threading.local):
    active = False
    deadline: Deadline | None = None


_mode = _Mode()
_lock = threading.Lock()  # one child at a time: loaders are process-wide


@contextmanager
def loading_in_a_child(deadline: Deadline | None = None) -> Iterator[None]:
    """Within this block (in this thread), describing a plugin loads it in a child process.

    ``deadline`` bounds every child started meanwhile: at the deadline the child
    is killed and `ProbeTimeout` raised,
    naming the plugin being loaded.
    """
    previous = (_mode.active, _mode.deadline)
    _mode.active, _mode.deadline = True, deadline
    try:
        yield
    finally:
        _mode.active, _mode.deadline = previous


def active() -> bool:
    """Whether this thread is inside `loading_in_a_child`."""
    return _mode.active


def load_in_child(specs: Sequence[PluginSpec]) -> list[ChildVerdict]:
    """Load ``specs`` one after another in a child; a new child past any that dies.

    Raises:
        ProbeTimeout: the deadline of `loading_in_a_child` passed.
    """
    verdicts: list[ChildVerdict] = []
    with _lock:
        while len(verdicts) < len(specs):
            verdicts.extend(_one_child(specs[len(verdicts) :], _mode.deadline))
    return verdicts


def _one_child(specs: Sequence[PluginSpec], deadline: Deadline | None) -> list[ChildVerdict]:
    """Run one child over ``specs``; the verdicts it gave, ending with the one that killed it."""
    import subprocess  # here: importing the loader (every container) must not pay for it

    request = {
        "path": sys.path,
        "plugins": [
            {"name": s.name, "value": s.value, "location": s.entry_point.location} for s in specs
        ],
    }
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(write_end), _PACKAGE_PARENT],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end,),
        )
    finally:
        os.close(write_end)
    try:
        assert child.stdin is not None
        # The child reads this line, then watches stdin: it exits when we are gone.
        with contextlib.suppress(BrokenPipeError):  # died at once: _collect says how
            child.stdin.write((json.dumps(request) + "\n").encode())
            child.stdin.flush()
        return _collect(child, read_end, specs, deadline)
    finally:
        os.close(read_end)
        # Killed even when done: it has said everything, and torch's teardown is not free.
        if child.poll() is None:
            child.kill()
        child.wait()
        with contextlib.suppress(BrokenPipeError):
            child.stdin.close()  # type: ignore[union-attr]


def _collect(
    child: subprocess.Popen[bytes],
    read_end: int,
    specs: Sequence[PluginSpec],
    deadline: Deadline | None,
) -> list[ChildVerdict]:
    verdicts: list[ChildVerdict] = []
    progress: dict[str, int | None] = {"started": None}  # the plugin being loaded now
    ready = False
    for event in _events(read_end, deadline, lambda: _label(specs, progress["started"])):
        if event["event"] == "ready":
            ready = True
        elif event["event"] == "start":
            progress["started"] = int(event["index"])
        elif event["event"] == "done":
            verdicts.append(
                ChildVerdict(
                    event["state"],
                    event.get("reason"),
                    event.get("options"),
                    bool(event.get("described")),
                    event.get("invalid_options"),
                )
            )
            progress["started"] = None
    if len(verdicts) == len(specs):
        return verdicts
    status = _fate(child.wait())
    if not ready or progress["started"] is None:
        # Not a plugin's doing: the child died before or between plugins (torch's import?).
        reason = f"the process loading plugins ended before loading it: {status}"
        return verdicts + [ChildVerdict("failed", reason)] * (len(specs) - len(verdicts))
    return [*verdicts, ChildVerdict("failed", f"ended the process loading it: {status}")]


def _events(
    read_end: int, deadline: Deadline | None, loading: Callable[[], str]
) -> Iterator[dict[str, Any]]:
    """The child's JSON lines as they come, until it closes the pipe (or the deadline)."""
    import selectors

    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(read_end, selectors.EVENT_READ)
        while True:
            if deadline is not None and deadline.expired():
                raise ProbeTimeout(
                    f"loading {loading()} did not finish within {deadline.seconds:g}s"
                )
            if not selector.select(None if deadline is None else deadline.left()):
                continue
            chunk = os.read(read_end, 65536)
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # not ours (a plugin writing to a descriptor it does not own)
                if isinstance(event, dict) and "event" in event:
                    yield event


def _label(specs: Sequence[PluginSpec], index: int | None) -> str:
    """The plugin being loaded (before the first: the first, torch's import being its start)."""
    return specs[0 if index is None else index].label


def _fate(returncode: int) -> str:
    """A child's end in words: ``exit status 3``, ``killed by signal SIGSEGV (...)``."""
    import signal

    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        number = signal.Signals(-returncode)
    except ValueError:
        return f"killed by signal {-returncode}"
    description = signal.strsignal(number) or ""
    return f"killed by signal {number.name}" + (f" ({description})" if description else "")
