"""etcd-v3 with TLS client certificates and with etcd's authentication, on real servers.

The CA and certificates are made by the test (openssl); authentication is
turned on through the v3 gateway (user root with role root, and a user whose
role may only read and write under the rendezvous prefix).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.etcd_server import (
    EtcdServer,
    all_keys,
    enable_auth,
    make_certificates,
    root_token,
)
from tests.support.procs import clean_environ, run_cli

from .conftest import FAST, assert_met, run_nodes, start_server

pytestmark = pytest.mark.slow

ROOT_PASSWORD = "root-secret"
TRAINER_PASSWORD = "trainer-secret"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    tls = make_certificates(tmp_path_factory.mktemp("certs"))
    server = start_server("3.5", tls=tls)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["3.4", "3.5"])
def auth_server(request: pytest.FixtureRequest) -> Iterator[EtcdServer]:
    server = start_server(request.param)
    try:
        enable_auth(server, ROOT_PASSWORD, {"trainer": TRAINER_PASSWORD})
        yield server
    finally:
        server.stop()


def tls_conf(server: EtcdServer) -> dict[str, str]:
    assert server.tls is not None
    return {
        "protocol": "https",
        "ca_cert": str(server.tls.ca),
        "ssl_cert": str(server.tls.client_cert),
        "ssl_cert_key": str(server.tls.client_key),
    }


def check(server: EtcdServer, conf: dict[str, str]) -> tuple[int, str, str]:
    flags = ["--rdzv-conf", ",".join(f"{k}={v}" for k, v in conf.items())] if conf else []
    done = run_cli(
        ["check", "--rdzv-backend", "etcd-v3", "--rdzv-endpoint", server.endpoint, *flags],
        env=clean_environ(),
    )
    return done.returncode, done.stdout, done.stderr


def test_tls_with_a_client_certificate_checks_and_meets(tls_server: EtcdServer) -> None:
    code, out, err = check(tls_server, tls_conf(tls_server))
    assert code == 0, err
    assert f"ready: etcd 3.5.1 at https://{tls_server.endpoint} answers" in out

    settings = {
        "backend": "etcd-v3",
        "endpoint": tls_server.endpoint,
        "run_id": f"tls-{uuid.uuid4().hex[:8]}",
        "nnodes": 2,
        "conf": {**FAST, **tls_conf(tls_server)},
    }
    assert_met(run_nodes(settings, 2), 2)
    assert all_keys(tls_server) == []


def test_tls_without_the_client_certificate_is_unreachable(tls_server: EtcdServer) -> None:
    conf = tls_conf(tls_server)
    del conf["ssl_cert"], conf["ssl_cert_key"]
    code, _, err = check(tls_server, conf)
    assert code == 1
    assert err.startswith(f"error: etcd-v3: etcd at {tls_server.endpoint} is unreachable: ")


def test_tls_without_the_ca_fails_verification(tls_server: EtcdServer, tmp_path: Path) -> None:
    conf = tls_conf(tls_server)
    del conf["ca_cert"]
    code, _, err = check(tls_server, conf)
    assert code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in err


@pytest.mark.parametrize(
    ("user", "password"), [("root", ROOT_PASSWORD), ("trainer", TRAINER_PASSWORD)]
)
def test_authenticated_users_check_and_meet(
    auth_server: EtcdServer, user: str, password: str
) -> None:
    conf = {"username": user, "password": password}
    code, out, err = check(auth_server, conf)
    assert code == 0, err
    assert f"compare-and-swap as {user!r} work" in out

    settings = {
        "backend": "etcd-v3",
        "endpoint": auth_server.endpoint,
        "run_id": f"auth-{uuid.uuid4().hex[:8]}",
        "nnodes": 2,
        "conf": {**FAST, **conf},
    }
    assert_met(run_nodes(settings, 2), 2)
    assert all_keys(auth_server, root_token(auth_server, ROOT_PASSWORD)) == []


def test_without_credentials_check_says_authentication_is_on(auth_server: EtcdServer) -> None:
    code, _, err = check(auth_server, {})
    assert code == 1
    first, fix = err.strip().splitlines()
    assert first.startswith("error: etcd-v3: etcd 3.")
    assert "refused the v3 API" in first
    assert fix == "fix: authentication is on: set conf.username and conf.password"


def test_a_wrong_password_is_refused_without_showing_it(auth_server: EtcdServer) -> None:
    code, _, err = check(auth_server, {"username": "trainer", "password": "wrong-one"})
    assert code == 1
    assert "refused user 'trainer'" in err
    assert "wrong-one" not in err


def test_a_role_without_the_prefix_is_refused(auth_server: EtcdServer) -> None:
    code, _, err = check(
        auth_server, {"username": "trainer", "password": TRAINER_PASSWORD, "key_prefix": "/other"}
    )
    assert code == 1
    assert "permission denied" in err
    assert "that its role may write under /other/" in err
