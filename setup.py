"""The one thing pyproject.toml cannot say: ``containers/`` ships as ``rendezvous_di.profiles``.

The deployment profiles live once, in ``containers/`` (tested there, readable in a
clone). The wheel maps that directory onto the subpackage ``rendezvous_di.profiles``
so ``--profile NAME`` finds them in an installed copy too; pyproject.toml can map a
directory or discover packages, not both, hence this file. Everything else is in
pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["rendezvous_di", "rendezvous_di.*"]),
        "rendezvous_di.profiles",
    ],
    package_dir={"rendezvous_di.profiles": "containers"},
)
