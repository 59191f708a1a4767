"""Event-driven rendezvous: torch's dynamic rendezvous, waiting on the store instead of a clock.

torch's ``DynamicRendezvousHandler`` waits in two places: a node waiting for
the others sleeps one second and re-reads the whole state, and a node's first
join sleeps a random 0 to 0.3 s. Here both waits listen to the store: a
bell rung after writes that waiting nodes must act on (`relevance`), and a
turnstile that orders first joins (`waiting`). torch's times stay the
bounds, so nothing waits longer than with torch; the state machine, the
state format and the options are torch's (`executor` says how the waits are
hooked in). Each store provides `signals.Signals`: a c10d store
(`store_signals`) or etcd (`rendezvous_di.backends.etcd_v3.signals`).
`strategy` is the ``sync`` option (``event`` or ``poll``).
"""
