"""What an installed plugin is before it is imported: one ``torchrun.handlers`` entry point.

Finding plugins reads metadata only (`rendezvous_di.plugins.entry_points`);
a `PluginSpec` names the backend, the distribution and the target, which is
all that listing, policy and error messages need. Loading is
`rendezvous_di.plugins.loader`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from .. import _torch
from . import entry_points as installed
from .entry_points import InstalledEntryPoint, canonical_name


@dataclass(frozen=True)
class PluginSpec:
    """One ``torchrun.handlers`` entry point, as metadata.

    ``distribution`` and ``version`` are read from the distribution's METADATA
    on first use only: creating a container with a thousand plugins installed
    reads their entry points, not their metadata.
    """

    name: str
    value: str
    entry_point: InstalledEntryPoint = field(repr=False, compare=False)

    @cached_property
    def _metadata(self) -> tuple[str, str]:
        found = self.entry_point.name_and_version()
        return found or ("<unknown distribution>", "<unknown version>")

    @property
    def distribution(self) -> str:
        return self._metadata[0]

    @property
    def version(self) -> str:
        return self._metadata[1]

    @property
    def label(self) -> str:
        """How errors and listings name the plugin: backend, distribution, version, target."""
        return (
            f"plugin {self.name!r} from distribution {self.distribution!r} {self.version} "
            f"(entry point {self.value})"
        )

    @property
    def first_party(self) -> bool:
        """Whether the entry point is this package's own code (``etcd-v3``).

        Its module imports no torch and cannot end the process at import: it is
        loaded in-process, without torch's rendezvous package first or a child
        process, so ``config`` and ``run --dry-run`` stay torch-free and ``check``
        never blames our own backend for torch's import time.
        """
        return self.value.partition(":")[0].split(".")[0] == __package__.split(".")[0]

    def matches(self, names: tuple[str, ...]) -> bool:
        """Whether ``names`` lists this plugin by backend name or by distribution name."""
        if not names:
            return False
        if self.name in names:
            return True
        wanted = {canonical_name(n) for n in names}
        return canonical_name(self.distribution) in wanted


def by_name(specs: Iterable[PluginSpec]) -> dict[str, list[PluginSpec]]:
    """``specs`` grouped by backend name, in discovery order (claimants of one name together)."""
    grouped: dict[str, list[PluginSpec]] = {}
    for spec in specs:
        grouped.setdefault(spec.name, []).append(spec)
    return grouped


def discover() -> tuple[PluginSpec, ...]:
    """Every installed ``torchrun.handlers`` entry point; imports no plugin module.

    Two distributions may declare the same backend name: both are returned,
    and the policy reports the conflict instead of silently dropping one.
    """
    found = installed.entry_points(_torch.PLUGIN_GROUP)
    return tuple(PluginSpec(ep.name, ep.value, ep) for ep in found)
