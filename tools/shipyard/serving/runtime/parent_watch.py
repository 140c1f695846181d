"""Stop a local model server when the `shipyard` process that started it dies.

The server runs in its own session and process group, so that stopping it
reaches every process it forks (shipyard.serving.server). The other side of
that: when `shipyard serve` is killed without a chance to clean up (SIGKILL,
an out-of-memory kill, a closed terminal's parent), nothing stops the
group, and the ports stay taken by a server nobody owns.

A launcher calls ``watch_parent()`` first. A daemon thread notes the parent
process and polls it; once the process has been re-parented (its parent
died), it sends SIGTERM to the whole group, and SIGKILL after a grace
period. Polling os.getppid() works for every fork of the launcher because
it is the group leader that watches; PR_SET_PDEATHSIG would reach only one
process and fires when the parent *thread* ends.
"""

from __future__ import annotations

import os
import signal
import threading
import time

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    group = os.getpgrp()
    try:
        os.killpg(group, signal.SIGTERM)
        time.sleep(GRACE_SECONDS)
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


def watch_parent() -> None:
    """Start the watchdog thread (once, in the launcher's own process)."""
    parent = os.getppid()
    if parent == 1:  # started by init: nobody to outlive
        return
    threading.Thread(target=_watch, args=(parent,), name="shipyard-parent-watch", daemon=True).start()
