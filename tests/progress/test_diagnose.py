"""Rendezvous failures explained on one line: backend, endpoint, root cause, what to run."""

from __future__ import annotations

from torch.distributed.elastic.rendezvous import RendezvousConnectionError

from rendezvous_di.cli.diagnose import explain, is_rendezvous_error
from rendezvous_di.config.settings import resolve_settings
from rendezvous_di.config.sources import from_mapping
from rendezvous_di.registry.catalog import builtin_catalog


def lost_etcd() -> RendezvousConnectionError:
    """The exception chain torch's etcd-v2 backend raises when the server is gone."""
    try:
        try:
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except ConnectionRefusedError:
                [].pop()
        except IndexError as error:
            raise OSError("No more machines in the cluster") from error
    except OSError as error:
        try:
            raise RendezvousConnectionError(
                "The connection to etcd has failed. See inner exception for details."
            ) from error
        except RendezvousConnectionError as raised:
            return raised


def test_a_lost_etcd_server_is_explained_with_its_root_cause() -> None:
    settings = resolve_settings(
        [from_mapping({"backend": "etcd-v2", "endpoint": "10.0.0.1:2379", "nnodes": "2:3"})],
        catalog=builtin_catalog(),
    )
    error = lost_etcd()
    assert is_rendezvous_error(error)
    assert explain(error, settings) == (
        "the rendezvous on backend 'etcd-v2' at 10.0.0.1:2379 failed: "
        "RendezvousConnectionError: The connection to etcd has failed. "
        "(root cause: ConnectionRefusedError: [Errno 111] Connection refused); "
        "is the server running and reachable? check with: "
        "rendezvous-di check --rdzv-backend etcd-v2 --rdzv-endpoint 10.0.0.1:2379"
    )


def test_other_errors_are_not_rendezvous_errors() -> None:
    assert not is_rendezvous_error(RuntimeError("worker crashed"))


def test_a_cause_already_in_the_message_is_said_once() -> None:
    """A backend that names its cause in its own message (and itself) gets each said once."""
    settings = resolve_settings(
        [from_mapping({"backend": "etcd-v2", "endpoint": "10.0.0.1:1"})], catalog=builtin_catalog()
    )
    reason = "cannot reach etcd (http): 10.0.0.1:1: Connection refused"
    try:
        try:
            raise OSError(reason)
        except OSError as cause:
            raise RendezvousConnectionError(f"etcd-v2: {reason}") from cause
    except RendezvousConnectionError as raised:
        line = explain(raised, settings)
    assert line == (
        f"the rendezvous on backend 'etcd-v2' at 10.0.0.1:1 failed: "
        f"RendezvousConnectionError: {reason}; is the server running and reachable? "
        "check with: rendezvous-di check --rdzv-backend etcd-v2 --rdzv-endpoint 10.0.0.1:1"
    )
