"""The testing kit's tests run user test files in-process with pytester.

An in-process pytester run drops the modules first imported inside it, so a
later run would import a second ``RendezvousContainer`` class (and wiring
matches providers by identity). Importing ours here, before any run, keeps
one of each for the whole session.
"""

import importlib.util

if importlib.util.find_spec("torch") is not None:
    pass
