"""`shipyard COMMAND --help` prints the command's module docstring as it is
written: Examples blocks keep their line breaks, so a docstring is wrapped by
hand and must fit a terminal."""

from __future__ import annotations

import argparse
import inspect

import pytest

from shipyard.cli import build_parser

WIDTH = 79


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


COMMANDS = _commands()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_keeps_the_docstring_line_breaks(name: str) -> None:
    command = COMMANDS[name]
    doc = inspect.cleandoc(command.description or "")
    assert doc, f"shipyard {name} has no module docstring"
    text = command.format_help()
    for line in doc.splitlines():
        assert line in text.splitlines(), f"shipyard {name} --help reflowed the line {line!r}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_fits_a_terminal(name: str) -> None:
    long = [line for line in (COMMANDS[name].description or "").splitlines() if len(line) > WIDTH]
    assert not long, f"shipyard {name}: docstring lines longer than {WIDTH} columns: {long}"


@pytest.mark.parametrize("name", ["register", "promote", "pipeline"])
def test_examples_are_one_command_a_line(name: str) -> None:
    lines = COMMANDS[name].format_help().splitlines()
    assert "Examples:" in lines
    examples = [line for line in lines if line.startswith(f"  shipyard {name} ")]
    assert len(examples) >= 2, lines
