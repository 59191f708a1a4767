"""``TrainingPlatformContainer``: declarations only; the work is in services and launcher."""

from __future__ import annotations

from dependency_injector import containers, providers

from rendezvous_di import RendezvousContainer, add_backend, builtin_options

from .services import JobDirectory, PlatformSettings, create_platform_handler


class TrainingPlatformContainer(containers.DeclarativeContainer):
    """A training platform with rendezvous-di inside.

    Configuration: the platform's keys (``cluster``, ``nproc_per_node``,
    ``max_restarts``, ``log_dir``, ``endpoints``) and, under ``rendezvous``,
    rendezvous-di's flat keys (``backend``, ``endpoint``, ``nnodes``, ``conf``...).

    The nested ``rendezvous`` container owns the handler (a Resource):
    ``shutdown_resources()`` on the platform shuts it down. The platform adds
    its own backend, ``platform``, whose creator receives the platform's
    ``directory`` client and ``settings``; the launcher service gets the
    handler injected (see :mod:`.launcher`).
    """

    wiring_config = containers.WiringConfiguration(modules=[".launcher"])

    config = providers.Configuration(
        default={"cluster": "local", "nproc_per_node": 2, "max_restarts": 0, "rendezvous": {}}
    )

    settings = providers.Singleton(
        PlatformSettings,
        cluster=config.cluster.as_(str),
        nproc_per_node=config.nproc_per_node.as_int(),
        max_restarts=config.max_restarts.as_int(),
        log_dir=config.log_dir,
    )
    directory = providers.Singleton(JobDirectory, endpoints=config.endpoints)

    rendezvous = providers.Container(RendezvousContainer, config=config.rendezvous)

    # The one step: a backend declared in code joins the rendezvous Selector.
    add_backend(
        rendezvous,
        "platform",
        providers.Factory(
            create_platform_handler,
            params=rendezvous.parameters,
            directory=directory,
            settings=settings,
        ),
        options=builtin_options("c10d"),  # validated, converted and listed like c10d's own
    )
