"""Cross-option checks of the etcd backends' TLS settings, run before any connection.

torch reads the TLS options one by one and silently drops what does not fit:
a key without a certificate is ignored, certificates under ``protocol=http``
are never used, and a certificate without its key only fails inside the TLS
handshake, minutes later and on every node. These checks turn each of those
into a [`ConfigError`][rendezvous_di.ConfigError] naming the option and file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

from ..errors import ConfigError
from ..paths import file_problem, open_regular_text

_PEM = "-----BEGIN "


@dataclass(frozen=True)
class TlsOptions:
    """The names one backend gives its TLS options (etcd: cert/key/cacert; etcd-v2: ssl_*)."""

    cert: str
    key: str
    ca: str

    def ssl_context(self, conf: Mapping[str, Any]) -> ssl.SSLContext:
        """A TLS client context from these options, as the backend's client would build it."""
        import ssl

        context = ssl.create_default_context(cafile=conf.get(self.ca) or None)
        if conf.get(self.cert):
            context.load_cert_chain(conf[self.cert], conf.get(self.key) or None)
        return context

    def check(
        self, conf: Mapping[str, Any], *, check_files: bool, sources: Mapping[str, str]
    ) -> None:
        """Raise ConfigError when the TLS options of ``conf`` cannot work together.

        ``check_files`` is off when the configuration is only inspected (maybe on
        another machine); the file contents are then not read.
        """
        protocol = conf.get("protocol", "http")
        given = [name for name in (self.cert, self.key, self.ca) if conf.get(name)]
        if given and protocol != "https":
            name = given[0]
            raise ConfigError(
                f"conf.{name}",
                conf[name],
                f"a TLS file is set but protocol is {protocol!r}, so it would never be used",
                choices=("https",),
                hint="set protocol=https, or remove the TLS options",
                source=sources.get(f"conf.{name}") or sources.get("conf.protocol"),
            )
        if conf.get(self.key) and not conf.get(self.cert):
            raise ConfigError(
                f"conf.{self.key}",
                conf[self.key],
                "a private key without a certificate; torch would ignore it",
                hint=f"set conf.{self.cert} to the client certificate file",
                source=sources.get(f"conf.{self.key}"),
            )
        if not check_files or protocol != "https":
            return
        for name in given:
            _require_pem(name, conf[name], sources)
        cert = conf.get(self.cert)
        if cert and not conf.get(self.key) and "PRIVATE KEY" not in _read(cert):
            raise ConfigError(
                f"conf.{self.cert}",
                cert,
                f"certificate file {cert!r} holds no private key and conf.{self.key} is not set",
                hint=f"set conf.{self.key} to the certificate's key file",
                source=sources.get(f"conf.{self.cert}"),
            )


def _read(path: str) -> str:
    try:
        return open_regular_text(path, 1_000_000)
    except OSError:
        return ""


def _require_pem(name: str, path: str, sources: Mapping[str, str]) -> None:
    problem = file_problem(path)
    if problem is not None:  # a FIFO would block the read forever: refused by what it is
        raise ConfigError(f"conf.{name}", path, problem, source=sources.get(f"conf.{name}"))
    try:
        head = open_regular_text(path, 1_000_000)
    except OSError as error:
        raise ConfigError(
            f"conf.{name}",
            path,
            f"file {path!r} cannot be read: {error.strerror or error}",
            source=sources.get(f"conf.{name}"),
        ) from None
    if _PEM not in head:
        raise ConfigError(
            f"conf.{name}",
            path,
            f"file {path!r} is not a PEM file (no '-----BEGIN' line)",
            source=sources.get(f"conf.{name}"),
        )
