"""Where the `shipyard` command starts: the installed script
(tools/bin/shipyard) and `python -m shipyard` both call ``main``.

Importing the commands takes up to half a second (all of them, for
``--help``; the one named otherwise), and a Ctrl-C in that time used to
end with a traceback: ``shipyard.cli.main`` catches
KeyboardInterrupt, but only once it runs, after every import is done. So
``main`` holds Ctrl-C from its first line until the commands are imported,
then stops with one line and exit code 130. Held, not caught: a
KeyboardInterrupt raised inside an import can be swallowed by Python (in
importlib's module-lock callback, printed as "Exception ignored"), and the
command would then run on as if nothing had been pressed.

This module imports only what Python's start-up has already loaded (``sys``
and ``_signal``, the C module behind ``signal``, which would import enum and
functools first: milliseconds in which the same could happen; not even
``__future__``). What is left
is Python's own start-up, before any line of the program: a Ctrl-C there
either kills the process before Python handles signals at all (silently; a
shell reports that as 130 too) or lands in the interpreter's start-up code,
where no program can catch it.
"""

import _signal  # type: ignore[import-not-found]  # no stub; the same functions as signal, with int constants
import sys

INTERRUPTED = 130
"""Exit code after Ctrl-C: 128 + SIGINT, what a shell reports for a command
killed by it, so scripts and CI see one code for an interrupt however it ended."""


class _Held:
    """Ctrl-C noted, not raised, while the commands are imported."""

    def __init__(self) -> None:
        self.pressed = False

    def note(self, _signum: int, _frame: object) -> None:
        self.pressed = True


def main(argv: list[str] | None = None) -> int:
    """Run the command line; a Ctrl-C anywhere in it, imports included,
    ends with one line and exit code 130."""
    try:
        held = _hold_interrupts()
        try:
            from shipyard import cli

            cli.build_parser(sys.argv[1:] if argv is None else argv)  # imports the command's module (every one for --help)
        finally:
            _release_interrupts(held)
        if held is not None and held.pressed:
            return interrupted()
        return cli.main(argv)
    except KeyboardInterrupt:
        return interrupted()


def _hold_interrupts() -> _Held | None:
    """Note Ctrl-C instead of raising it, unless SIGINT is not Python's
    default (ignored, as for a background job, or handled by a program
    that embeds this one): then it is left alone, and None returned."""
    if _signal.getsignal(_signal.SIGINT) is not _signal.default_int_handler:
        return None
    held = _Held()
    try:
        _signal.signal(_signal.SIGINT, held.note)
    except ValueError:  # not the main thread: signals cannot be handled here
        return None
    return held


def _release_interrupts(held: _Held | None) -> None:
    if held is not None:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)


def interrupted() -> int:
    """Stop after a Ctrl-C: one line, no traceback. A second Ctrl-C from
    here on (while the message prints, while Python shuts down and waits
    for threads) kills the process at once instead of raising another
    KeyboardInterrupt that nothing would catch."""
    try:
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
    except ValueError:  # not the main thread
        pass
    print("interrupted", file=sys.stderr)
    return INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
