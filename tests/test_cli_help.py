"""Every command's ``--help`` reads whole at 80 columns, and flags look like flags (issue 11.1)."""

from __future__ import annotations

import re

import pytest
from cli_helpers import WIDTH, invoke

from weightwise import cli


def _commands() -> list[tuple[str, ...]]:
    """Every command path: (), ("train",), ..., ("study",), ("study", "depth")."""
    import typer

    out: list[tuple[str, ...]] = [()]
    group = typer.main.get_command(cli.app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        out.append((name,))
        for sub in getattr(command, "commands", {}):
            out.append((name, sub))
    return out


def _click_command(path: tuple[str, ...]):
    import typer

    command = typer.main.get_command(cli.app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "weightwise")
def test_help_reads_whole_at_80_columns(path):
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "…" not in text
    long = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not long, long
    assert "<bool>" not in text  # a flag takes no value
    # The command list gives each command's first sentence whole, not cut with "...".
    assert not [
        line for line in text.splitlines() if line.rstrip().endswith("...") and "Usage" not in line
    ]
    for param in _click_command(path).params:
        for name in [*param.opts, *getattr(param, "secondary_opts", [])]:
            if name.startswith("-"):
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (name, text)


def test_flags_take_no_value():
    """``weightwise --debug true xor`` is not how --debug is used: the help shows a bare flag."""
    text = invoke("--help").output
    assert re.search(r"^\s+--debug\s{2,}Show", text, re.M), text
    train = invoke("train", "--help").output
    assert "--progress / --no-progress" in train
    assert re.search(r"^\s+--resume\s{2,}", train, re.M)
