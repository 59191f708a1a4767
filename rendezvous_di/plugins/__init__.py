"""Out-of-tree backends from the ``torchrun.handlers`` entry point group.

- `entry_points`: reading installed entry points without importlib.metadata.
- `loader`: `PluginSpec` (metadata) and `PluginLoader`
  (imports one plugin at most once per process, failures recorded).
- `slots`: `BackendSlot`, who serves a plugin-claimed name under a policy.
"""
