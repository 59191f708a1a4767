"""torch's legacy ``etcd`` backend: its own rendezvous algorithm over etcd's v2 API."""

from __future__ import annotations

from ..options import MAX_SECONDS, OptionSpec
from ..tls import TlsOptions
from .common import LAST_CALL_TIMEOUT
from .etcd_common import PROTOCOL, tls_options, v2_api_backend

TORCH_CREATOR = "_create_etcd_handler"
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
)
