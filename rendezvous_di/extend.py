"""Deprecated location of ``add_backend`` and ``renamed``: import them from ``rendezvous_di``."""

from ._moved import moved_attributes

__getattr__ = moved_attributes(
    __name__, {"add_backend": "backends.declared", "renamed": "handlers"}
)
