"""The child side of `rendezvous_di.plugins.isolation`: load plugins, report each as JSON.

Started by the parent with the write end of a pipe; reads one request line
(``sys.path`` and the plugins) on stdin and keeps watching stdin: when the
parent goes away, stdin closes and the child exits, whatever a plugin is
doing. Each plugin is loaded with the same `PluginLoader` the parent
would use; before each one a ``start`` line, after it a ``done`` line, so a
parent that sees the pipe close after ``start`` knows which plugin ended the
process. Plugins' own output goes nowhere near the pipe.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def _write(fd: int, event: dict[str, Any]) -> None:
    data = (json.dumps(event, default=repr) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _exit_with_the_parent() -> None:
    sys.stdin.buffer.read()  # blocks until the parent closes stdin (or dies)
    os._exit(0)


def _load(plugin: dict[str, Any]) -> dict[str, Any]:
    from .. import _torch
    from ..errors import PluginLoadError
    from .entry_points import InstalledEntryPoint
    from .loader import PluginLoader
    from .spec import PluginSpec

    entry_point = InstalledEntryPoint(
        plugin["name"], plugin["value"], _torch.PLUGIN_GROUP, plugin["location"]
    )
    loader = PluginLoader(PluginSpec(plugin["name"], plugin["value"], entry_point))
    try:
        loader.creator()
    except PluginLoadError:
        return {
            "state": "failed",
            "reason": loader.reason,
            "invalid_options": loader.invalid_options,
        }
    except KeyboardInterrupt as error:  # here the plugin's doing: no user pressed Ctrl-C
        detail = f": {error}" if str(error) else ""
        return {"state": "failed", "reason": f"raised KeyboardInterrupt{detail} while loading"}
    schema = loader.description().schema
    options = (
        None
        if schema is None
        else {o.name: o.declaration() for o in schema.options if not o.launcher}
    )
    described = getattr(loader.creator(), "rendezvous_description", None) is not None
    return {"state": "loaded", "options": options, "described": described}


def main(fd: int) -> None:
    """Serve one request from the parent: load every plugin in it, one line each."""
    request = json.loads(sys.stdin.buffer.readline())
    sys.path[:] = request["path"]
    threading.Thread(target=_exit_with_the_parent, daemon=True).start()
    from .. import _torch

    _torch.rendezvous_module()  # once, before any plugin (they import it)
    _write(fd, {"event": "ready"})
    for index, plugin in enumerate(request["plugins"]):
        _write(fd, {"event": "start", "index": index})
        _write(fd, {"event": "done", "index": index, **_load(plugin)})
    os.close(fd)
