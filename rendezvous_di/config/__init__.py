"""Settings: where they come from and what they mean, before any backend is involved.

- `values`: value grammars shared by every source (booleans, ``${VAR}``, run ids).
- `torchrun`: torchrun's rendezvous flags, their PET_* twins, ``--nnodes``/``--rdzv-conf``.
- `layers`: what one source says (`Layer`), and merging them.
- `sources`: one function per source (file, environment, mapping, flags).
- `schedulers`: the detected scheduler's values (Slurm, Kubeflow), under the file.
- `yaml_file`: reading a settings file.
- `endpoint`: ``host[:port]`` as torch parses it.
- `policy`: the ``plugins`` block.
- `settings`: `RendezvousSettings`, merged and validated with provenance.
"""
