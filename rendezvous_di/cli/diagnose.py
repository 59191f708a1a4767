"""One-line explanations of rendezvous failures, for ``rendezvous-di run``.

torch reports a lost etcd server as "The connection to etcd has failed. See
inner exception for details." and prints no inner exception. The operator
needs the backend, the endpoint, the underlying cause and the next step;
`explain` puts them on one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.settings import RendezvousSettings

if TYPE_CHECKING:
    from ..backends.description import BackendDescription

PROBE_AFTER_FAILURE = 5.0
"""Seconds the backend's probe may take once a job failed to start (a dead server answers fast)."""

_NOISE = " See inner exception for details."


def causes(error: BaseException) -> list[str]:
    """``error`` and the exceptions it was raised from, each as ``Type: message``.

    Follows ``raise ... from`` and, unless suppressed, the exception being
    handled when it was raised; stops after 10 (a cycle guard).
    """
    chain: list[str] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 10:
        text = str(current).replace(_NOISE, "").strip()
        chain.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def explain(error: BaseException, settings: RendezvousSettings) -> str:
    """What failed, where, the root cause, and the command that checks the backend.

    A closed rendezvous is not a failure of the server: it says what closed it
    and what to do instead (torch's bare ``RendezvousClosedError`` left users
    of a restarted agent guessing, pytorch #147064).
    """
    if _closed(error):
        return (
            f"the rendezvous {settings.run_id!r} on backend {settings.backend!r} at "
            f"{settings.endpoint} is closed: its job ended (a node finished, or failed and "
            "shut it down), and a closed run never takes nodes again; to start the job "
            "anew, give every node a new --rdzv-id (PET_RDZV_ID)"
        )
    chain = causes(error)
    first = _without_backend(chain[0], settings.backend)
    # A backend that already put its cause in its own message (etcd-v3 does) gets it said
    # once: the root cause is added only when it tells something the first line does not.
    root = chain[-1].partition(": ")[2] or chain[-1]
    cause = f" (root cause: {chain[-1]})" if len(chain) > 1 and root not in first else ""
    check = (
        f"rendezvous-di check --rdzv-backend {settings.backend} --rdzv-endpoint {settings.endpoint}"
    )
    return (
        f"the rendezvous on backend {settings.backend!r} at {settings.endpoint} failed: "
        f"{first}{cause}; is the server running and reachable? check with: {check}"
    ).replace("\n", " ")


def _without_backend(text: str, backend: str) -> str:
    """``Type: <backend>: message`` as ``Type: message``: the line names the backend already."""
    kind, sep, message = text.partition(": ")
    prefix = f"{backend}: "
    return f"{kind}{sep}{message[len(prefix) :]}" if message.startswith(prefix) else text


def _closed(error: BaseException) -> bool:
    """Whether ``error``, or one it was raised from, is torch's ``RendezvousClosedError``."""
    current: BaseException | None = error
    for _ in range(10):
        if current is None:
            return False
        if type(current).__name__ == "RendezvousClosedError":
            return True
        current = current.__cause__ or current.__context__
    return False


def is_rendezvous_error(error: BaseException) -> bool:
    """True for torch's RendezvousError family (checked by name: torch is imported lazily)."""
    return any(cls.__name__ == "RendezvousError" for cls in type(error).__mro__)


def probed_already(error: BaseException) -> bool:
    """Whether ``error`` (or one it was raised from) is a probe's own verdict.

    c10d asks the endpoint before torch's client connects (`NotATCPStoreError`,
    within ``read_timeout``); probing it again after the failure would ask the
    same silent listener a second time and end the command 5 s past the
    ``read_timeout`` the docs promise, to say the same thing.
    """
    from ..errors import NotATCPStoreError

    current: BaseException | None = error
    for _ in range(10):  # a cycle guard, as in `causes`
        if current is None:
            return False
        if isinstance(current, NotATCPStoreError):
            return True
        current = current.__cause__ or current.__context__
    return False


def probe_after_failure(
    settings: RendezvousSettings, description: BackendDescription
) -> str | None:
    """What the backend's probe finds wrong, once the job failed, as ``backend: detail``.

    torch's own message for a server it cannot use is generic ("The connection
    to etcd has failed", or python-etcd's "404 page not found" for an etcd whose
    v2 API is off); the probe names the cause and the way forward. None when
    there is no probe, it finds nothing wrong (the failure was elsewhere), or it
    cannot reach the server either (the job's own error then says more).
    """
    from ..backends.probing import probe

    if description.probe is None:
        return None
    try:
        result = probe(settings, description, PROBE_AFTER_FAILURE)
    except Exception:  # a probe must never hide the job's own error
        return None
    if result.ok or not result.answered:
        return None  # unreachable: the job's own error says which call failed
    return f"{settings.backend}: {result.detail}"
