"""Settings: where they come from and what they mean, before any backend is involved.

- :mod:`.values`: value grammars shared by every source (booleans, ``${VAR}``, run ids).
- :mod:`.torchrun`: torchrun's rendezvous flags, their PET_* twins, ``--nnodes``/``--rdzv-conf``.
- :mod:`.layers`: what one source says (:class:`~.layers.Layer`), and merging them.
- :mod:`.sources`: one function per source (file, environment, mapping, flags).
- :mod:`.yaml_file`: reading a settings file.
- :mod:`.endpoint`: ``host[:port]`` as torch parses it.
- :mod:`.policy`: the ``plugins`` block.
- :mod:`.settings`: :class:`~.settings.RendezvousSettings`, merged and validated with provenance.
"""
