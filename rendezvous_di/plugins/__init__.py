"""Out-of-tree backends from the ``torchrun.handlers`` entry point group.

- :mod:`.entry_points`: reading installed entry points without importlib.metadata.
- :mod:`.loader`: :class:`~.loader.PluginSpec` (metadata) and :class:`~.loader.PluginLoader`
  (imports one plugin at most once per process, failures recorded).
- :mod:`.slots`: :class:`~.slots.BackendSlot`, who serves a plugin-claimed name under a policy.
"""
