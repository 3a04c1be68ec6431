"""The one way the CLI tests run a command in-process: at 80 columns, as on a narrow terminal.

Messages and paths must not depend on the width (see ``weightwise.cli.base``); running every
command at 80 columns from the long ``tmp_path`` of ``conftest.py`` keeps that true.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner, Result

WIDTH = 80

runner = CliRunner()


def invoke(*args: str | Path, app: typer.Typer | None = None, **kwargs: Any) -> Result:
    """Run ``weightwise`` (or ``app``) with ``args`` (paths become strings) at ``WIDTH`` columns.

    ``env`` entries are added to (or override) ``COLUMNS``; other keywords go to ``CliRunner.invoke``.
    """
    from weightwise import cli

    env = {"COLUMNS": str(WIDTH), **kwargs.pop("env", {})}
    return runner.invoke(
        cli.app if app is None else app,
        [str(a) for a in args],
        env=env,
        terminal_width=WIDTH,
        **kwargs,
    )


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Exit status 1, a single ``error: ...`` line on stderr naming the problem, no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
