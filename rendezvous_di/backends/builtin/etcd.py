"""torch's legacy ``etcd`` backend: its own rendezvous algorithm over etcd's v2 API."""

from __future__ import annotations

from ..description import BackendDescription
from ..options import OptionSchema, OptionSpec
from ..tls import TlsOptions
from .common import LAST_CALL_TIMEOUT, address_check
from .etcd_common import ETCD_EXTRA, ETCD_PORT, PROTOCOL, tls_options, v2_api_probe

TORCH_CREATOR = "_create_etcd_handler"
TLS = TlsOptions(cert="cert", key="key", ca="cacert")

DESCRIPTION = BackendDescription(
    name="etcd",
    origin="builtin",
    summary="legacy etcd rendezvous (etcd v2 API)",
    default_endpoint=f"localhost:{ETCD_PORT}",
    default_port=ETCD_PORT,
    requires=(("etcd", ETCD_EXTRA),),
    schema=OptionSchema(
        "etcd",
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
            ),
            LAST_CALL_TIMEOUT,
        ),
        checks=(TLS,),
    ),
    settings_check=address_check(port_required=False),
    probe=v2_api_probe(TLS),
    distribution="torch",
)
