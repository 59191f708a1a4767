"""``RendezvousContainer``: declarations only; the work lives in `rendezvous_di.pipeline`."""

from __future__ import annotations

import os
from typing import Any

from dependency_injector import containers, providers

from .admission.entries import builtin_entries as builtin_checks
from .admission.entries import selected_checks
from .admission.entries import shared_by_every_instance as shared_checks
from .backends.events.strategy import sync_for
from .config import sources
from .config.schedulers import SchedulerDetector
from .config.values import fresh_run_id
from .container_instance import RendezvousDynamicContainer
from .pipeline import ResolutionCache, open_handler, policy_from, settings_from
from .registry.declared import shared_by_every_instance
from .registry.parameters import build_parameters
from .registry.selector import add_out_of_tree_backends, builtin_entries
from .resource import ReadOncePerResolution, ThreadSafeResource


class RendezvousContainer(containers.DeclarativeContainer):
    """Torch's rendezvous backends as providers, chosen by configuration.

    Its providers are listed in the order data flows through them.

    Attributes:
        config_file: path of a YAML file with the settings keys (lowest precedence).
        config_key: a dotted key of that file the settings sit under (a platform's
            own YAML, ``rendezvous``); None: the file is ours, the keys at its top.
        environ: where PET_* variables are read; override with ``{}`` to ignore them.
        config: explicit values: ``backend``, ``endpoint``, ``run_id``,
            ``min_nodes``/``max_nodes`` or ``nnodes``, ``local_addr``, ``conf``, ``plugins``.
        flags: torchrun flags by settings key (set by the CLI), above ``config``.
        scheduler: the detector of Slurm and Kubeflow values, which sit under the file;
            override with `rendezvous_di.fixed_scheduler` (fixed values, or none).
        layers: what each source says, lowest precedence first; one provider
            per source inside, each overridable.
        plugin_policy: the ``plugins`` block alone (valid even when other settings
            are not), which decides who serves plugin-claimed names.
        settings: the effective, validated [`RendezvousSettings`][rendezvous_di.RendezvousSettings].
        parameters: torch's ``RendezvousParameters`` built from them.
        sync: how the dynamic backends (``c10d``, ``etcd-v3``) wait for the other
            nodes, a `SyncStrategy`: the ``sync`` option's (``event`` unless set);
            override it to choose or replace the strategy for every backend.
        backends: a Selector keyed by backend name: torch's built-ins, one entry
            per installed ``torchrun.handlers`` plugin name (added when the
            container is created; imported only when used) and the backends
            others registered on torch's registry. ``backends.providers[name]``
            can be overridden and the override reaches ``handler``.
        handler: the selected backend's handler, a Resource: one per container,
            however many threads ask at once (`ThreadSafeResource`),
            shut down by ``shutdown_resources()``.
        checks: the admission checks one may select, a ``providers.Dict`` keyed by
            name (built-ins ``network``, ``disk``, ``gpu``; `add_check` adds more;
            installed ``rendezvous_di.checks`` plugins are found when selected).
        admission: the checks the ``admission`` setting selects, in order, options
            converted; node checks run before the agent joins, group checks after
            a round forms (`rendezvous_di.admission`). Override it to impose checks.

    ``container.c10d`` is the Selector's entry, and patching a provider
    attribute with a non-provider fails with a message saying how to override
    ([`ProviderPatchError`][rendezvous_di.ProviderPatchError]).
    """

    instance_type = RendezvousDynamicContainer

    config_file: providers.Provider[str | os.PathLike[str] | None] = providers.Object(None)
    config_key: providers.Provider[str | None] = providers.Object(None)
    environ = providers.Object(os.environ)
    config = providers.Configuration()
    flags: providers.Provider[dict[str, object] | None] = providers.Object(None)
    scheduler = providers.Object(SchedulerDetector())

    # What each source says, lowest precedence first (config.sources.read_layers); read once
    # per handler() resolution, again on every other call.
    layers = ReadOncePerResolution(
        sources.read_layers,
        config_file=config_file,
        environ=environ,
        config=config,
        flags=flags,
        config_key=config_key,
        scheduler=scheduler,
    )

    fresh_run_id = providers.ThreadSafeSingleton(fresh_run_id)
    resolution_cache = providers.ThreadSafeSingleton(ResolutionCache)
    plugin_policy = providers.Callable(policy_from, layers, cache=resolution_cache)

    # The Selector's key and its entries depend on settings, and settings need the
    # Selector's descriptions to validate the backend: declare it first, complete it below.
    backends = shared_by_every_instance(providers.Selector())

    settings = providers.Callable(
        settings_from,
        layers,
        backends.provider,
        fresh_run_id=fresh_run_id,
        policy=plugin_policy.provider,  # asked only when overridden
        cache=resolution_cache,
    )
    parameters = providers.Callable(build_parameters, settings, selector=backends.provider)
    sync = providers.Callable(sync_for, parameters)

    backends.set_selector(settings.provided.backend)
    backends.set_providers(**builtin_entries(parameters, sync))

    handler = ThreadSafeResource(open_handler, handler=backends, backend=settings.provided.backend)

    checks = shared_checks(providers.Dict(builtin_checks()))
    admission = providers.Callable(
        selected_checks,
        settings.provided.admission,
        checks.provider,
        source=settings.provided.source_of.call("admission"),
    )

    def __new__(cls, **overriding_providers: Any) -> Any:
        # Discovery belongs to creation, not to import: each new container sees
        # what is installed now. Instances are DynamicContainer copies, hence the
        # module-level function rather than a method.
        container = super().__new__(cls, **overriding_providers)
        add_out_of_tree_backends(container)
        return container
