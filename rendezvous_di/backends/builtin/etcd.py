"""torch's legacy ``etcd`` backend: its own rendezvous algorithm over etcd's v2 API."""

from __future__ import annotations

from typing import Any

from ..description import Snapshot
from ..options import MAX_SECONDS, OptionSpec
from ..tls import TlsOptions
from .common import LAST_CALL_TIMEOUT, registry_creator
from .etcd_common import PROTOCOL, tls_options, v2_api_backend

TORCH_CREATOR = registry_creator("_create_etcd_handler")


def read_progress(handler: Any) -> Snapshot | None:
    """Nodes joined so far, from the rendezvous state torch's legacy algorithm keeps in etcd.

    torch builds this handler in one function (``etcd_rendezvous.create_rdzv_handler``)
    and offers no accessor to the algorithm behind it: it is the handler's
    ``_rdzv_impl``, whose public ``get_rdzv_state`` reads the state key.
    """
    import etcd  # python-etcd, there whenever this backend runs

    implementation = getattr(handler, "_rdzv_impl", None)
    if implementation is None:
        return None
    try:
        _, state = implementation.get_rdzv_state()
    except etcd.EtcdKeyNotFound:  # nobody joined yet
        return Snapshot(joined=0)
    participants = state.get("participants", []) if isinstance(state, dict) else []
    return Snapshot(joined=len(participants))


TLS = TlsOptions(cert="cert", key="key", ca="cacert")

DESCRIPTION = v2_api_backend(
    "etcd",
    "legacy etcd rendezvous (etcd v2 API)",
    TLS,
    (
        PROTOCOL,
        *tls_options(TLS),
        OptionSpec(
            "etcd_prefix", "str", "/torchelastic/p2p", "etcd key prefix for rendezvous state"
        ),
        OptionSpec(
            "timeout",
            "int",
            600,
            "seconds within which the rendezvous must complete",
            minimum=1,
            maximum=MAX_SECONDS,
        ),
        LAST_CALL_TIMEOUT,
    ),
    requires=("etcd",),
    progress=read_progress,
)
