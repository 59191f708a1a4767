"""One node of the chaos test: ``python -m tests.support.chaos_node SETTINGS DIR NAME FIRST``.

Creates its handler from the container at once (so it is ready before its
first round), then for each round ``k`` from ``FIRST`` on: waits for the file
``DIR/go-k``, calls ``next_rendezvous``, writes its name under its rank in the
round's store, reads every rank's name, and writes ``DIR/result-k-NAME.json``
(``rank``, ``world_size``, ``members``: the names by rank). ``DIR/stop`` ends it.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import signal
import sys
import time
from pathlib import Path

from rendezvous_di import RendezvousContainer


def _wait_for(path: Path, stop: Path) -> bool:
    while not path.exists():
        if stop.exists():
            return False
        time.sleep(0.01)
    return True


def main() -> None:
    settings, directory, name, first = sys.argv[1:5]
    # Shown only when a round fails: what the handler did, with timestamps.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("rendezvous_di").setLevel(logging.DEBUG)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the test asks when a round hangs
    control = Path(directory)
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(json.loads(settings))
    handler = container.handler()
    (control / f"ready-{name}").write_text("")
    round_number = int(first)
    try:
        while _wait_for(control / f"go-{round_number}", control / "stop"):
            info = handler.next_rendezvous()
            state = handler._state_holder.state  # torch's view, logged for a failing round
            logging.getLogger("chaos").info(
                "round %d: rank %d of %d, torch round %d, participants %s",
                round_number,
                info.rank,
                info.world_size,
                state.round,
                sorted(map(str, state.participants)),
            )
            store = info.store
            store.set(f"member/{info.rank}", name)
            members = [store.get(f"member/{rank}").decode() for rank in range(info.world_size)]
            result = {"rank": info.rank, "world_size": info.world_size, "members": members}
            out = control / f"result-{round_number}-{name}.json"
            out.with_suffix(".tmp").write_text(json.dumps(result))
            out.with_suffix(".tmp").rename(out)
            round_number += 1
    finally:
        container.shutdown_resources()


if __name__ == "__main__":
    main()
