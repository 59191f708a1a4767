"""Deployment profiles (``*.yaml``, ``kubeflow.env``) and an example platform container.

The YAML files are loadable by name, ``rendezvous-di ... --profile c10d``, or by
path, ``--config containers/c10d.yaml``. This directory is their one copy: the
wheel ships it as the package ``rendezvous_di.profiles`` (see setup.py), so the
names work from an installed wheel too. :mod:`containers.platform` (not shipped)
shows how a training platform nests ``RendezvousContainer``.
"""
