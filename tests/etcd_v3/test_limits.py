"""The server's real limits: what etcd refuses is refused by ``config`` and ``check`` first.

etcd refuses a lease TTL above its ``MaxLeaseTTL`` (9,000,000,000 s) when the
first node grants its lease, at the rendezvous. The declared maximum is
compared with a real etcd here, both sides of the bound, so the option's limit
is the server's and not a guess.
"""

from __future__ import annotations

import pytest

from rendezvous_di.backends.etcd_v3 import MAX_LEASE_TTL, SCHEMA, parse_endpoints
from rendezvous_di.backends.etcd_v3.client import EtcdClient, EtcdError
from rendezvous_di.errors import ConfigError
from tests.support.contract import refused
from tests.support.etcd_server import EtcdServer
from tests.support.procs import run_cli

pytestmark = pytest.mark.slow


def test_the_lease_ttl_limit_is_etcds_own(etcd_v3_server: EtcdServer) -> None:
    client = EtcdClient(parse_endpoints(etcd_v3_server.endpoint), timeout=30)
    lease = client.grant(MAX_LEASE_TTL)  # the largest TTL etcd grants
    client.revoke(lease)
    with pytest.raises(EtcdError, match="too large"):
        client.grant(MAX_LEASE_TTL + 1)


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("lease_ttl", MAX_LEASE_TTL + 1, "must be <= 9000000000"),
        ("read_timeout", 10**10, "must be <= 1000000000"),
        ("keep_alive_max_attempt", 10**5, "must be <= 10000"),
    ],
)
def test_a_value_past_the_servers_limit_is_refused_naming_it(
    option: str, value: int, words: str
) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        SCHEMA.validate({option: str(value)}, require=False, check_files=False, sources={})
    assert caught.value.field == f"conf.{option}"
    assert str(value) in str(caught.value)


def test_check_never_says_ready_for_a_lease_etcd_would_refuse(etcd_35: EtcdServer) -> None:
    conf = f"lease_ttl={MAX_LEASE_TTL + 1}"
    args = ["--rdzv-backend", "etcd-v3", "--rdzv-endpoint", etcd_35.endpoint, "--rdzv-conf", conf]
    done = run_cli(["check", "--timeout", "30", *args], timeout=120)
    refused(done, "conf.lease_ttl", "9000000001")
    assert "ready" not in done.stdout
    ok = run_cli(["check", "--timeout", "30", *args[:-1], f"lease_ttl={MAX_LEASE_TTL}"])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1].startswith("ready:")
