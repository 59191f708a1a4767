"""Name-to-backend resolution: which backend a name selects, and how it is created.

The container's ``backends`` Selector maps names to `BackendEntry` providers;
everything that fills it, reads it or bridges it to torch lives here, over the
leaf pieces of `rendezvous_di.backends` (what a backend is) and
`rendezvous_di.plugins` (finding and loading installed plugins):

- `entry`: `BackendEntry`, every entry of the Selector (a description or a
  claimed name, and the provider that creates the handler).
- `selector`: filling the Selector (built-ins, installed plugins, torch's registry).
- `declared`: ``add_backend``, a backend declared in code.
- `claims`: `ClaimedName`, who serves a name plugins claim under the policy.
- `policy`: the ``plugins`` policy applied to installed plugins (denials, warnings).
- `catalog`: the entries read through their descriptions (settings validation).
- `parameters`: torch's ``RendezvousParameters`` for the selected backend, both ways.
- `listing`: ``rendezvous-di backends``.
- `json_schema`: backend options as JSON Schema (``rendezvous-di schema``).
- `torch_bridge`: the container's backends in torch's registry, and back.
"""
