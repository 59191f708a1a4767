"""The testing kit's tests run user test files in-process with pytester.

An in-process pytester run drops the modules first imported inside it, so a
later run would import a second ``RendezvousContainer`` class (and wiring
matches providers by identity). Importing ours here, before any run, keeps
one of each for the whole session.
"""

import importlib.util

if importlib.util.find_spec("torch") is not None:
    import rendezvous_di.container
    import rendezvous_di.testing.fake
    import rendezvous_di.testing.isolation
    import rendezvous_di.testing.mocks
    import rendezvous_di.testing.overrides
    import rendezvous_di.torch_registry  # noqa: F401
