"""SIGTERM and SIGINT while a change is being made: deferred to the next
safe point, where the change is put back (a CI runner cancelling a job sends
SIGTERM); a second signal stops at once and leaves the journal to repair."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from shipyard import git
from shipyard.errors import ShipyardError

class Interrupted(ShipyardError):
    """SIGTERM or SIGINT arrived while a change was being made; it was put back."""


class StopFlag:
    """Defers SIGTERM and SIGINT while a change is made, so a job cancelled
    mid-way (a CI runner sends SIGTERM) stops at the next safe point and
    puts everything back, instead of dying between two git calls. A second
    signal stops at once; the journal then lets the next run repair."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.shielded = False  # while a failed change is put back: later signals only count

    @contextmanager
    def shield(self) -> Iterator["StopFlag"]:
        """Put back a failed change without being interrupted again: signals
        that arrive meanwhile are noted, not raised."""
        self.shielded = True
        try:
            yield self
        finally:
            self.shielded = False

    def check(self) -> None:
        """Raise `Interrupted` at a safe point if a signal arrived."""
        if self.signum is not None:
            name = signal.Signals(self.signum).name
            raise Interrupted(f"stopped by {name} before the change was committed; "
                              "the files, the branch and the work tree are as they were",
                              hint="run the command again when you are ready", check=git.BUSY)

    @contextmanager
    def installed(self) -> Iterator["StopFlag"]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum: int, _frame: Any) -> None:
            if self.signum is not None and not self.shielded:
                raise Interrupted(f"stopped by a second {signal.Signals(signum).name}",
                                  hint="run the command again: it repairs what was left half-done",
                                  check=git.BUSY)
            self.signum = signum

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
