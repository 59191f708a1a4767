"""rendezvous-di: PyTorch's elastic rendezvous registry behind a dependency-injector container.

Importing this package is cheap: it never imports torch, and the container
(with dependency-injector) is imported on first use of its name. Everything
a platform needs is a name of this package; its submodules are the
implementation.
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
    LauncherFlagError,
    PluginError,
    PluginHandlerError,
    PluginLoadError,
    PluginSelectionError,
    ProviderPatchError,
    RendezvousDIError,
    UnknownBackendError,
    UnknownOptionError,
)

if TYPE_CHECKING:
    from .admission.check import AdmissionCheck
    from .admission.entries import add_check, remove_check
    from .admission.result import CheckResult
    from .admission.running import AdmissionRefused
    from .backends.builtin import builtin_creator, builtin_options
    from .backends.description import BackendDescription
    from .config.policy import PluginPolicy
    from .config.schedulers import SchedulerDetector, fixed_scheduler
    from .config.settings import RendezvousSettings
    from .container import RendezvousContainer
    from .handlers import NamedHandler, renamed
    from .registry.declared import add_backend
    from .registry.listing import BackendInfo, describe_backends
    from .registry.torch_bridge import Installation, add_torch_registry_backends, install

_LAZY = {
    "AdmissionCheck": "admission.check",
    "AdmissionRefused": "admission.running",
    "CheckResult": "admission.result",
    "add_check": "admission.entries",
    "remove_check": "admission.entries",
    "RendezvousContainer": "container",
    "RendezvousSettings": "config.settings",
    "PluginPolicy": "config.policy",
    "SchedulerDetector": "config.schedulers",
    "fixed_scheduler": "config.schedulers",
    "install": "registry.torch_bridge",
    "add_torch_registry_backends": "registry.torch_bridge",
    "Installation": "registry.torch_bridge",
    "add_backend": "registry.declared",
    "builtin_creator": "backends.builtin",
    "builtin_options": "backends.builtin",
    "BackendDescription": "backends.description",
    "BackendInfo": "registry.listing",
    "describe_backends": "registry.listing",
    "NamedHandler": "handlers",
    "renamed": "handlers",
}

__all__ = [
    "AdmissionCheck",
    "AdmissionRefused",
    "BackendDependencyError",
    "BackendDescription",
    "BackendInfo",
    "BackendMismatchError",
    "CheckResult",
    "ConfigError",
    "ConfigFileError",
    "Installation",
    "LauncherFlagError",
    "NamedHandler",
    "PluginError",
    "PluginHandlerError",
    "PluginLoadError",
    "PluginPolicy",
    "PluginSelectionError",
    "ProviderPatchError",
    "RendezvousContainer",
    "RendezvousDIError",
    "RendezvousSettings",
    "SchedulerDetector",
    "UnknownBackendError",
    "UnknownOptionError",
    "__version__",
    "add_backend",
    "add_check",
    "add_torch_registry_backends",
    "builtin_creator",
    "builtin_options",
    "describe_backends",
    "fixed_scheduler",
    "install",
    "remove_check",
    "renamed",
]


_DEPRECATED = {"adopt": "add_torch_registry_backends"}
"""Old names still served, with a DeprecationWarning naming the new one (see CHANGELOG)."""

__getattr__ = lazy_attributes(__name__, _LAZY, deprecated=_DEPRECATED)
