"""What torch's two etcd backends share: the port, the protocol option, the v2 API probe."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ...config.endpoint import scheme_option
from ..description import BackendDescription, ProbeResult, ProgressReader
from ..options import OptionSchema, OptionSpec
from ..tls import TlsOptions
from .common import address_check, address_endpoint

if TYPE_CHECKING:
    from ...config.settings import RendezvousSettings
    from ..deadline import Deadline
ETCD_PORT = 2379
"""etcd's client port, what an endpoint without a port means."""

PROTOCOL = OptionSpec(
    "protocol", "choice", "http", "protocol used to talk to etcd", choices=("http", "https")
)


def tls_options(tls: TlsOptions) -> tuple[OptionSpec, ...]:
    """The three TLS file options, under the names the backend gives them."""
    return (
        OptionSpec(tls.cert, "file", None, "path to the TLS client certificate"),
        OptionSpec(tls.key, "file", None, "path to the TLS client certificate's private key"),
        OptionSpec(tls.ca, "file", None, "path to the root CA certificate"),
    )


ETCD_EXTRA = "etcd"
"""The rendezvous-di extra that installs python-etcd for torch's etcd backends."""


def v2_api_backend(
    name: str,
    summary: str,
    tls: TlsOptions,
    options: tuple[OptionSpec, ...],
    requires: tuple[str, ...],
    progress: ProgressReader,
) -> BackendDescription:
    """One of torch's etcd backends: etcd's port, a ``host[:port]`` endpoint, the v2 API probe.

    ``options`` in display order, `PROTOCOL` and ``tls_options(tls)``
    among them; ``tls``'s cross-checks apply. ``requires`` are modules of the
    etcd extra.
    """
    return BackendDescription(
        name=name,
        origin="builtin",
        summary=summary,
        default_endpoint=f"localhost:{ETCD_PORT}",
        default_port=ETCD_PORT,
        requires=tuple((module, ETCD_EXTRA) for module in requires),
        schema=OptionSchema(name, options, checks=(tls,)),
        settings_check=address_check(port_required=False, scheme=scheme_option(name)),
        probe=v2_api_probe(tls),
        progress=progress,
        distribution="torch",
    )


def v2_api_probe(tls: TlsOptions) -> Callable[[RendezvousSettings, Deadline], ProbeResult]:
    """A probe: etcd answers ``/version`` and serves the v2 API that torch's backends use."""

    def probe(settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:
        from ..probing import http_get, url_error

        endpoint = address_endpoint(
            settings, port_required=False, scheme=scheme_option(settings.backend)
        )
        protocol = settings.conf.get("protocol", "http")
        base = (
            f"{protocol}://{endpoint}" if endpoint.port else f"{protocol}://{endpoint}:{ETCD_PORT}"
        )
        try:
            context = tls.ssl_context(settings.conf) if protocol == "https" else None
            status, body = http_get(f"{base}/version", deadline, context)
            version = json.loads(body).get("etcdserver") if status == 200 else None
            if not version:
                return ProbeResult(
                    False,
                    f"{base}/version answered HTTP {status} without an etcd version",
                    "check that --rdzv-endpoint names an etcd client URL (usually port 2379)",
                )
            status, _ = http_get(f"{base}/v2/keys/", deadline, context)
        except Exception as error:
            return ProbeResult(
                False,
                f"etcd at {base} is unreachable: {url_error(error, deadline)}",
                "start etcd with --enable-v2=true and a client URL every node can reach, "
                "or correct --rdzv-endpoint / conf.protocol",
            )
        if status != 200:
            # One line that says it all: etcd 3.6 removed the v2 API, so the way forward
            # is the v3 backend, not a flag that current etcd no longer has.
            return ProbeResult(
                False,
                f"etcd {version} at {base} answers, but its v2 API is disabled (HTTP {status}), "
                f"which torch's {settings.backend} backend needs and etcd 3.6 removed: "
                "use --rdzv-backend etcd-v3 (etcd's v3 API), "
                "or restart etcd 3.4/3.5 with --enable-v2=true",
                answered=True,
            )
        return ProbeResult(True, f"etcd {version} at {base} answers; v2 API enabled")

    return probe
