"""``python -m rendezvous_di``: the same as the ``rendezvous-di`` command."""

from .cli import main

raise SystemExit(main())
