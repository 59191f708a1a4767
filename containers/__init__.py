"""Deployment profiles (``*.yaml``, ``kubeflow.env``) and an example platform container.

The YAML files are loadable with ``rendezvous-di ... --config containers/<name>.yaml``;
:mod:`containers.platform` shows how a training platform nests ``RendezvousContainer``.
"""
