"""Deprecated location of ``describe_backends``: import it from ``rendezvous_di``."""

from ._moved import moved_attributes

__getattr__ = moved_attributes(
    __name__, {"describe_backends": "backends.listing", "BackendInfo": "backends.listing"}
)
