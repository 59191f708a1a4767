"""One-line explanations of rendezvous failures, for ``rendezvous-di run``.

torch reports a lost etcd server as "The connection to etcd has failed. See
inner exception for details." and prints no inner exception. The operator
needs the backend, the endpoint, the underlying cause and the next step;
`explain` puts them on one line.
"""

from __future__ import annotations

from ..config.settings import RendezvousSettings

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
    """What failed, where, the root cause, and the command that checks the backend."""
    chain = causes(error)
    cause = f" (root cause: {chain[-1]})" if len(chain) > 1 else ""
    check = (
        f"rendezvous-di check --rdzv-backend {settings.backend} --rdzv-endpoint {settings.endpoint}"
    )
    return (
        f"the rendezvous on backend {settings.backend!r} at {settings.endpoint} failed: "
        f"{chain[0]}{cause}; is the server running and reachable? check with: {check}"
    ).replace("\n", " ")


def is_rendezvous_error(error: BaseException) -> bool:
    """True for torch's RendezvousError family (checked by name: torch is imported lazily)."""
    return any(cls.__name__ == "RendezvousError" for cls in type(error).__mro__)
