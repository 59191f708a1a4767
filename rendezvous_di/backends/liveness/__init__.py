"""Heartbeats off the shared state: each node's liveness in a small key of its own.

See `rendezvous_di.backends.liveness.beating` for how torch's handler is kept
unaware of it.
"""
