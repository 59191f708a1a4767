"""One rendezvous node in its own process: ``python -m tests.support.rendezvous_node JSON``.

Builds a :class:`rendezvous_di.RendezvousContainer` from the JSON settings on
the command line, joins one rendezvous through the container's handler and
prints ``{"rank", "world_size", "heard", "backend"}`` as JSON as its last line.
A real process per node, because torch's rendezvous is process-wide state.
"""

from __future__ import annotations

import json
import sys

from rendezvous_di import RendezvousContainer


def main() -> None:
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(json.loads(sys.argv[1]))
    handler = container.handler()
    try:
        info = handler.next_rendezvous()
        # Prove the rendezvous store is shared: every node reads every other node's key.
        info.store.set(f"hello/{info.rank}", str(info.rank))
        heard = sorted(
            int(info.store.get(f"hello/{other}").decode())
            for other in range(info.world_size)
            if other != info.rank
        )
        result = {
            "rank": info.rank,
            "world_size": info.world_size,
            "heard": heard,
            "backend": handler.get_backend(),
        }
        print(json.dumps(result), flush=True)
    finally:
        container.shutdown_resources()


if __name__ == "__main__":
    main()
