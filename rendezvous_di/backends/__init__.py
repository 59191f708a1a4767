"""Backends: one `BackendDescription` per backend, whatever its origin.

- `description`: what a backend is, reads and needs.
- `options`: option schemas, and the ``rendezvous_options`` declaration format.
- `builtin`: torch's four built-ins, one module each.
- `etcd_v3`: our own ``etcd-v3`` backend (a plugin of this distribution).
- `entry`: `BackendEntry`, every entry of the container's Selector.
- `selector`: filling the Selector (built-ins, plugins, torch's registry).
- `declared`: ``add_backend``, a backend declared in code.
- `catalog`: the entries read through their descriptions.
- `listing`: ``rendezvous-di backends``.
- `probing`, `tls`: readiness probes and TLS option checks.
"""

from typing import Any as _Any


def __getattr__(name: str) -> _Any:
    """Names the previous layout's ``rendezvous_di.backends`` module had, with a warning."""
    moved = {
        "builtin_handler": (
            "create_builtin_handler",
            "rendezvous_di.builtin_creator(name)(params)",
        ),
        "BUILTIN_BACKENDS": ("BUILTIN_BACKENDS", "rendezvous_di.builtin_options(name)"),
    }
    if name not in moved:
        # Before any import: ``from . import x`` asks this hook for a submodule not yet
        # imported, and importing one here would ask again, forever.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    from . import builtin

    target, instead = moved[name]
    warnings.warn(
        f"rendezvous_di.backends.{name} moved: use {instead}", DeprecationWarning, stacklevel=2
    )
    return getattr(builtin, target)
