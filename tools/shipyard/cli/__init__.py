"""The `shipyard` command: argument parsing and printing only.

Each command is one module in this package exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; modules are discovered,
so adding a command is adding a file.
"""

from __future__ import annotations

import argparse
import os
import importlib
import pkgutil
import sys
import traceback
from types import ModuleType

from shipyard import __version__
from shipyard.errors import ShipyardError

DEBUG_ENV = "SHIPYARD_DEBUG"


def _command_modules(only: str | None = None) -> list[ModuleType]:
    """The command modules, or just ``only`` when it names one (a module's
    name is its command's NAME)."""
    import shipyard.cli as pkg

    names = sorted(info.name for info in pkgutil.iter_modules(pkg.__path__) if not info.name.startswith("_"))
    if only is not None and only in names:
        names = [only]
    modules = []
    for name in names:
        module = importlib.import_module(f"shipyard.cli.{name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules


def _named_command(argv: list[str] | None) -> str | None:
    """The command ``argv`` runs (its first word), or None when it runs none
    (``--help``, ``--version``, nothing)."""
    for word in argv or ():
        if word.startswith("-"):
            return None  # an option before any command: the top-level parser's own
        return word
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """Every command's description is its module docstring, printed as
    written: argparse's default formatter would reflow the Examples blocks
    into one paragraph, so docstrings are wrapped by hand (at 79 columns).

    Given the ``argv`` it will parse, and that names a command, only that
    command's module is imported: importing all of them (the lifecycle,
    serving and pipeline code) is most of the start-up of a one-file
    `shipyard validate`, which a pre-commit hook runs often. Anything else
    (no command, ``--help``, a misspelt one) imports them all, so help and
    "invalid choice" list every command."""
    parser = argparse.ArgumentParser(prog="shipyard", description="Keep a GitOps repository for ML on Kubernetes correct.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"shipyard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    version_only = argv is not None and argv[:1] == ["--version"]  # answered before any command is looked at
    for module in [] if version_only else _command_modules(_named_command(argv)):
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=getattr(module, "__doc__", None),
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        return int(exc.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args))
    except ShipyardError as exc:
        print(f"error [{exc.check}]: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `shipyard status | head`: the reader left; stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        # A file the command was told to write or read (--junit, --output):
        # the path and the reason are the whole story.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error [SY900]: {where}{exc.strerror or exc}\n  hint: check the path, its folder and its permissions",
              file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    """A bug, not bad input: one line saying so, exit 3 (never confused with
    2, so tests that feed bad input still catch it); the traceback only when
    SHIPYARD_DEBUG is set."""
    if os.environ.get(DEBUG_ENV):
        traceback.print_exception(exc, file=sys.stderr)
    print(
        f"internal error: {type(exc).__name__}: {exc}\n"
        f"  this is a bug in shipyard, not a problem with your files; run again with {DEBUG_ENV}=1 "
        "for the details and report it",
        file=sys.stderr,
    )
    return 3
