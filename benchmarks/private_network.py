"""Benchmarks on a loopback of their own: a network namespace with nothing but ``lo``.

Why: torch's TCPStore client looks up the name of every address it connects
to (its socket formatter calls ``getnameinfo``, torch's ``socket.cpp``), and
``::ffff:127.0.0.1``, the address it connects to for ``127.0.0.1``, is in no
hosts file, so each connection asks the machine's DNS server. On this
project's sandbox that server leaves some questions unanswered, and the
connection then waits out glibc's resolver timeout: 5 s
(``RES_OPTIONS=timeout:1`` makes it 1 s). A benchmark that opened many
connections met it in most rounds, whichever variant it happened to hit
(`benchmarks.store_connect_burst` shows it). In a namespace of its own no DNS
server is reachable, the lookup fails at once, and nothing waits: the
benchmark then measures the rendezvous, not the sandbox's DNS.

Entering one needs root (CI runs as root); otherwise the benchmark runs in
the machine's namespace and says so.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CLONE_NEWNET = 0x40000000


@contextmanager
def private_network() -> Iterator[bool]:
    """The body runs with this thread in a fresh network namespace (``lo`` up): True; or,
    where that is not allowed, in the machine's own: False.

    Threads and processes the body starts are in it too (they inherit this
    thread's namespace); on exit this thread returns to its namespace, and the
    private one goes with the last process in it.
    """
    if os.geteuid() != 0:
        yield False
        return
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            yield False
            return
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
            yield True
        finally:
            if libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "could not return to the machine's network")
    finally:
        os.close(home)


def network_note(summary: dict[str, Any]) -> str:
    """Where a summary's stores and agents met, for its table's heading."""
    if summary.get("network") == "private":
        return "stores and agents on a loopback of their own (`benchmarks/private_network.py`)"
    return "stores and agents on the machine's loopback"
