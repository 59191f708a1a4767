"""An autospec mock of torch's ``RendezvousHandler`` that lets code under test run."""

from __future__ import annotations

import socket
from typing import Any


def one_node_info() -> Any:
    """A real ``RendezvousInfo`` for rank 0 of 1 with an in-memory store."""
    from .._torch import rendezvous_module

    rdzv = rendezvous_module()
    from torch.distributed import HashStore, PrefixStore  # type: ignore[attr-defined]

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    store = PrefixStore("torch.rendezvous.mock.0", HashStore())
    return rdzv.RendezvousInfo(store, 0, 1, rdzv.RendezvousStoreInfo("127.0.0.1", port))


def configure_mock_handler(mocker: Any, backend: str, run_id: str) -> Any:
    """``mocker.create_autospec(RendezvousHandler, instance=True)`` with usable answers."""
    from .._torch import rendezvous_module

    handler = mocker.create_autospec(rendezvous_module().RendezvousHandler, instance=True)
    handler.get_backend.return_value = backend
    handler.get_run_id.return_value = run_id
    handler.next_rendezvous.return_value = one_node_info()
    handler.is_closed.return_value = False
    handler.num_nodes_waiting.return_value = 0
    handler.shutdown.return_value = True
    handler.use_agent_store = False
    return handler
