"""torch's ``etcd-v2`` backend: the dynamic rendezvous with its state in etcd (v2 API)."""

from __future__ import annotations

from ..events.strategy import POLL, sync_option
from ..options import LAUNCHER_TIMEOUT, MAX_SECONDS, OptionSpec
from ..tls import TlsOptions
from . import dynamic
from .common import DYNAMIC_RENDEZVOUS_OPTIONS
from .etcd_common import PROTOCOL, tls_options, v2_api_backend

TORCH_CREATOR = dynamic.creator("etcd_rendezvous_backend")
TLS = TlsOptions(cert="ssl_cert", key="ssl_cert_key", ca="ca_cert")

DESCRIPTION = v2_api_backend(
    "etcd-v2",
    "etcd v2 API through torch's dynamic rendezvous",
    TLS,
    (
        OptionSpec(
            "read_timeout",
            "int",
            60,
            "read timeout in seconds for etcd operations",
            minimum=1,
            maximum=MAX_SECONDS,
        ),
        PROTOCOL,
        *tls_options(TLS),
        *DYNAMIC_RENDEZVOUS_OPTIONS,
        # python-etcd's v2 watch would do, but the v2 API is gone from etcd 3.6: see
        # docs/rendezvous.md ("How each store notifies").
        sync_option(POLL, choices=(POLL,)),
        LAUNCHER_TIMEOUT,
    ),
    requires=("etcd", "urllib3"),
    progress=dynamic.read_progress,
)
