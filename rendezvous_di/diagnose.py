"""One-line explanations of rendezvous failures, for ``rendezvous-di run``.

torch reports a lost etcd server as "The connection to etcd has failed. See
inner exception for details." and prints no inner exception. The operator
needs the backend, the endpoint, the underlying cause and the next step;
:func:`explain` puts them on one line.
"""

from __future__ import annotations

from .settings import RendezvousSettings


def causes(error: BaseException) -> list[str]:
    """``error`` and its chained causes, each as ``Type: message``, duplicates dropped."""
    seen: list[str] = []
    current: BaseException | None = error
    while current is not None and len(seen) < 5:
        text = str(current).strip()
        item = f"{type(current).__name__}: {text}" if text else type(current).__name__
        if item not in seen:
            seen.append(item)
        current = current.__cause__ or current.__context__
    return seen


def explain(error: BaseException, settings: RendezvousSettings) -> str:
    """What failed, where, why, and the command that checks the backend."""
    chain = causes(error)
    cause = f" (caused by {'; '.join(chain[1:])})" if len(chain) > 1 else ""
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
