"""An example training platform that composes rendezvous-di's container.

- :mod:`.services`: plain classes the platform already has (settings, a
  job-directory client) and its own rendezvous backend's creator.
- :mod:`.containers`: the declarations, ``TrainingPlatformContainer``.
- :mod:`.launcher`: the launcher service, wired with ``@inject``/``Provide``.

``rendezvous-di backends --container containers.platform:TrainingPlatformContainer``
lists the platform's ``platform`` backend with source ``container``.
"""

from .containers import TrainingPlatformContainer
from .services import JobDirectory, PlatformSettings

__all__ = ["JobDirectory", "PlatformSettings", "TrainingPlatformContainer"]
