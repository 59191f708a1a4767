"""rendezvous-di: PyTorch's elastic rendezvous registry behind a dependency-injector container.

Importing this package is cheap: it never imports torch, and the container
(with dependency-injector) is imported on first use of its name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes
from ._version import __version__
from .errors import (
    BackendDependencyError,
    BackendMismatchError,
    ConfigError,
    ConfigFileError,
    PluginError,
    PluginHandlerError,
    PluginLoadError,
    PluginSelectionError,
    RendezvousDIError,
    UnknownBackendError,
    UnknownOptionError,
)

if TYPE_CHECKING:
    from .container import RendezvousContainer
    from .extend import add_backend
    from .guard import ProviderPatchError
    from .policy import PluginPolicy
    from .settings import RendezvousSettings
    from .torch_registry import Installation, adopt, install

_LAZY = {
    "RendezvousContainer": "container",
    "RendezvousSettings": "settings",
    "PluginPolicy": "policy",
    "install": "torch_registry",
    "adopt": "torch_registry",
    "Installation": "torch_registry",
    "add_backend": "extend",
    "ProviderPatchError": "guard",
}

__all__ = [
    "BackendDependencyError",
    "BackendMismatchError",
    "ConfigError",
    "ConfigFileError",
    "Installation",
    "PluginError",
    "PluginHandlerError",
    "PluginLoadError",
    "PluginPolicy",
    "PluginSelectionError",
    "ProviderPatchError",
    "RendezvousContainer",
    "RendezvousDIError",
    "RendezvousSettings",
    "UnknownBackendError",
    "UnknownOptionError",
    "__version__",
    "add_backend",
    "adopt",
    "install",
]


__getattr__ = lazy_attributes(__name__, _LAZY)
