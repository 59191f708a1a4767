"""Out-of-tree backends from the ``torchrun.handlers`` entry point group: finding and loading.

- `entry_points`: reading installed entry points without importlib.metadata.
- `spec`: `PluginSpec`, one entry point as metadata; `discover`.
- `loader`: `PluginLoader`, which imports one plugin at most once per process,
  failures recorded.
- `isolation`: loading plugins in a child process (``backends --load``, ``check``).

Who may serve a name that plugins claim is decided in `rendezvous_di.registry`.
"""
