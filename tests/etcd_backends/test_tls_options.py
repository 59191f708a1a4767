"""TLS options of both etcd backends are checked before any connection is attempted.

Each case points the container at a port where nothing listens: had the
handler been created, the error would be a connection error, so a
ConfigError naming the option proves validation came first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rendezvous_di import ConfigError, RendezvousContainer
from tests.support.procs import free_port

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"

NAMES = {"etcd-v2": ("ssl_cert", "ssl_cert_key", "ca_cert"), "etcd": ("cert", "key", "cacert")}


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, str]:
    files = {"cert": CERT, "key": KEY, "both": CERT + KEY, "garbage": "not a certificate\n"}
    for name, text in files.items():
        (tmp_path / f"{name}.pem").write_text(text)
    return {name: str(tmp_path / f"{name}.pem") for name in files}


def parameters(backend: str, conf: dict[str, Any]) -> Any:
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(
        {"backend": backend, "endpoint": f"127.0.0.1:{free_port()}", "nnodes": 2, "conf": conf}
    )
    return container.parameters()


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
@pytest.mark.parametrize("missing", [0, 1, 2])
def test_https_with_a_missing_file_names_the_file(
    backend: str, missing: int, pem: dict[str, str], tmp_path: Path
) -> None:
    cert, key, ca = NAMES[backend]
    conf = {"protocol": "https", cert: pem["cert"], key: pem["key"], ca: pem["cert"]}
    absent = str(tmp_path / "absent.pem")
    option = (cert, key, ca)[missing]
    conf[option] = absent
    with pytest.raises(ConfigError) as caught:
        parameters(backend, conf)
    assert caught.value.field == f"conf.{option}"
    assert absent in str(caught.value)


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
def test_certificate_without_key_is_refused(backend: str, pem: dict[str, str]) -> None:
    cert, key, _ = NAMES[backend]
    with pytest.raises(ConfigError, match=f"no private key and conf.{key} is not set") as caught:
        parameters(backend, {"protocol": "https", cert: pem["cert"]})
    assert caught.value.field == f"conf.{cert}"
    assert pem["cert"] in str(caught.value)


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
def test_certificate_bundling_its_key_is_accepted(backend: str, pem: dict[str, str]) -> None:
    cert, _, _ = NAMES[backend]
    params = parameters(backend, {"protocol": "https", cert: pem["both"]})
    assert params.get(cert) == pem["both"]


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
def test_key_without_certificate_is_refused(backend: str, pem: dict[str, str]) -> None:
    cert, key, _ = NAMES[backend]
    with pytest.raises(ConfigError, match=f"set conf.{cert}") as caught:
        parameters(backend, {"protocol": "https", key: pem["key"]})
    assert caught.value.field == f"conf.{key}"


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
def test_tls_files_under_http_are_refused(backend: str, pem: dict[str, str]) -> None:
    cert, key, _ = NAMES[backend]
    with pytest.raises(ConfigError, match="protocol is 'http'") as caught:
        parameters(backend, {cert: pem["cert"], key: pem["key"]})
    assert caught.value.choices == ("https",)


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
def test_a_file_that_is_not_pem_is_refused(backend: str, pem: dict[str, str]) -> None:
    cert, key, _ = NAMES[backend]
    with pytest.raises(ConfigError, match="is not a PEM file") as caught:
        parameters(backend, {"protocol": "https", cert: pem["cert"], key: pem["garbage"]})
    assert caught.value.field == f"conf.{key}"


def test_complete_tls_settings_reach_torch_unchanged(pem: dict[str, str]) -> None:
    conf = {"protocol": "https", "ssl_cert": pem["cert"], "ssl_cert_key": pem["key"]}
    params = parameters("etcd-v2", {**conf, "ca_cert": pem["cert"]})
    assert {k: params.get(k) for k in conf} == conf
