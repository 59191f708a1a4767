"""torch's ``etcd-v2`` backend: the dynamic rendezvous with its state in etcd (v2 API)."""

from __future__ import annotations

from ..description import BackendDescription
from ..options import LAUNCHER_TIMEOUT, OptionSchema, OptionSpec
from ..tls import TlsOptions
from .common import DYNAMIC_RENDEZVOUS_OPTIONS, address_check
from .etcd_common import ETCD_EXTRA, ETCD_PORT, PROTOCOL, tls_options, v2_api_probe

TORCH_CREATOR = "_create_etcd_v2_handler"
TLS = TlsOptions(cert="ssl_cert", key="ssl_cert_key", ca="ca_cert")

DESCRIPTION = BackendDescription(
    name="etcd-v2",
    origin="builtin",
    summary="etcd v2 API through torch's dynamic rendezvous",
    default_endpoint=f"localhost:{ETCD_PORT}",
    default_port=ETCD_PORT,
    requires=(("etcd", ETCD_EXTRA), ("urllib3", ETCD_EXTRA)),
    schema=OptionSchema(
        "etcd-v2",
        (
            OptionSpec(
                "read_timeout", "int", 60, "read timeout in seconds for etcd operations", minimum=1
            ),
            PROTOCOL,
            *tls_options(TLS),
            *DYNAMIC_RENDEZVOUS_OPTIONS,
            LAUNCHER_TIMEOUT,
        ),
        checks=(TLS,),
    ),
    settings_check=address_check(port_required=False),
    probe=v2_api_probe(TLS),
    distribution="torch",
)
