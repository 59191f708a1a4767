"""Whether ``rendezvous-di run`` turns off torch's sharing of the rendezvous TCPStore.

Since torch 2.4 the dynamic rendezvous (c10d, etcd-v2, etcd-v3) hands the
workers a TCPStore hosted by the rank-0 agent, and a handler builds that
store's address once: in ``DynamicRendezvousHandler.next_rendezvous`` the
bootstrap store info is rebuilt only on the first round or when this node
becomes rank 0 without a server of its own. After a re-rendezvous in which
the rank-0 host died and this node stayed rank 1 or more, its workers get the
dead host's address and never connect (seen on torch 2.13 in
tests/multihost/test_etcd_v3_faults.py). With
``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1`` torch publishes the new rank 0's
address through the rendezvous store every round instead.

A job can re-rendezvous with a new rank 0 only when it has more than one node
and either its size may change (``min_nodes < max_nodes``) or it restarts
(``max_restarts > 0``); for those, `run` sets the variable unless the user
set it (to anything: their choice wins). The cost is the one torch's opt-out
has: the workers' store is created per round, not reused from the agent.
"""

from __future__ import annotations

from collections.abc import MutableMapping

VARIABLE = "TORCH_DISABLE_SHARE_RDZV_TCP_STORE"


def can_change_rank_zero(min_nodes: int, max_nodes: int, max_restarts: int) -> bool:
    """Whether a later round may give rank 0 to another host than the first round did."""
    return max_nodes > 1 and (min_nodes < max_nodes or max_restarts > 0)


def disable_sharing(
    environ: MutableMapping[str, str], min_nodes: int, max_nodes: int, max_restarts: int
) -> str | None:
    """Set `VARIABLE` to ``1`` in ``environ`` for a job that needs it; the note to show, or None.

    Nothing changes when the user set the variable or the job cannot change rank 0.
    """
    if VARIABLE in environ or not can_change_rank_zero(min_nodes, max_nodes, max_restarts):
        return None
    environ[VARIABLE] = "1"
    return (
        f"rendezvous-di: {VARIABLE}=1 (nodes {min_nodes}:{max_nodes}, max_restarts "
        f"{max_restarts}): the workers' store address is taken anew each round, so a node "
        "that outlives the rank-0 host reaches the new one; set the variable to keep "
        "torch's default\n"
    )
