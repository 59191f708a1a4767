"""Backends: what each one is, one `BackendDescription` per backend, whatever its origin.

The leaf pieces that name-to-backend resolution (`rendezvous_di.registry`) reads:

- `description`: what a backend is, reads and needs; `ProbeResult`.
- `options`: option schemas, and the ``rendezvous_options`` declaration format.
- `builtin`: torch's four built-ins, one module each.
- `etcd_v3`: our own ``etcd-v3`` backend (a plugin of this distribution).
- `probing`, `deadline`, `tls`, `tcp_store`: readiness probes within one time
  budget, TLS option checks, and asking a listener whether it is a TCPStore.
"""
