"""``rendezvous-di check`` for ``etcd-v3``: version, the v3 API, authentication, a CAS round trip.

Everything the backend will do, once, within the deadline: ``/version``
(etcd answers), a range (the v3 gateway answers and, with auth on, the
credentials work), then compare-and-swap on a scratch key under
``key_prefix`` that is deleted afterwards (the user may write there).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from ..description import ProbeResult
from .client import EtcdAuthError, EtcdClient, EtcdError, client_from_conf, compare, put
from .endpoints import parse_endpoints

if TYPE_CHECKING:
    from ...config.settings import RendezvousSettings
    from ..deadline import Deadline


def probe(settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:

    conf = settings.conf
    endpoints = parse_endpoints(settings.endpoint)
    try:
        client = client_from_conf(endpoints, {**conf, "read_timeout": deadline.left()})
    except (OSError, ValueError) as error:  # unreadable TLS files
        return ProbeResult(False, f"cannot set up TLS: {error}", "check conf.ssl_cert/ca_cert")
    try:
        return _probe(client, settings, deadline)
    finally:
        client.close()


def _probe(client: EtcdClient, settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:

    conf = settings.conf
    where = ",".join(str(a) for a in client.addresses)
    try:
        client.timeout = deadline.left()
        version = client.version().get("etcdserver")
    except EtcdError as error:
        return ProbeResult(
            False,
            f"etcd at {where} is unreachable: {error}",
            "start etcd with a client URL every node can reach, "
            "or correct --rdzv-endpoint / conf.protocol",
        )
    base = client.url
    prefix = str(conf.get("key_prefix", "/torch/elastic/rendezvous")).rstrip("/")
    scratch = f"{prefix}/.rendezvous-di-check/{uuid.uuid4().hex}".encode()
    step = "the v3 API"
    try:
        client.timeout = deadline.left()
        client.range(scratch)
        step = "a compare-and-swap"
        client.timeout = deadline.left()
        created = client.txn([compare(scratch, "CREATE", 0)], [put(scratch, b"1")], [])
        revision = int(created["header"]["revision"])
        swapped = client.txn([compare(scratch, "MOD", revision)], [put(scratch, b"2")], [])
        stale = client.txn([compare(scratch, "MOD", revision)], [put(scratch, b"3")], [])
        client.delete(scratch)
    except EtcdAuthError as error:
        user = conf.get("username")
        return ProbeResult(
            False,
            f"etcd {version} at {base} refused {step}: {error}",
            "authentication is on: set conf.username and conf.password"
            if not user
            else f"check the password of {user!r} and that its role may write under {prefix}/",
            answered=True,
        )
    except EtcdError as error:
        return ProbeResult(
            False,
            f"etcd {version} at {base} answers /version, but {step} failed: {error}",
            "etcd-v3 needs etcd 3.4 or later with its gRPC gateway (on by default)",
            answered=True,
        )
    if not created.get("succeeded") or not swapped.get("succeeded") or stale.get("succeeded"):
        return ProbeResult(
            False,
            f"etcd {version} at {base}: a compare-and-swap on {scratch.decode()} "
            "did not behave as one",
            answered=True,
        )
    auth = f" as {conf['username']!r}" if conf.get("username") else ""
    return ProbeResult(
        True, f"etcd {version} at {base} answers; v3 API, compare-and-swap{auth} work"
    )
