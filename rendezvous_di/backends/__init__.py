"""Backends: one :class:`~.description.BackendDescription` per backend, whatever its origin.

- :mod:`.description`: what a backend is, reads and needs.
- :mod:`.options`: option schemas, and the ``rendezvous_options`` declaration format.
- :mod:`.builtin`: torch's four built-ins, one module each.
- :mod:`.entry`: :class:`~.entry.BackendEntry`, every entry of the container's Selector.
- :mod:`.selector`: filling the Selector (built-ins, plugins, torch's registry).
- :mod:`.declared`: ``add_backend``, a backend declared in code.
- :mod:`.catalog`: the entries read through their descriptions.
- :mod:`.listing`: ``rendezvous-di backends``.
- :mod:`.probing`, :mod:`.tls`: readiness probes and TLS option checks.
"""
