"""The typer app, its consoles and the one-line error handling every command shares."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from .. import __version__
from ..errors import WeightwiseError

app = typer.Typer(
    name="weightwise",
    help="How should a neural network's weights be adjusted? Back-propagation and greedy "
    "layer-wise pre-training, with measured evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# soft_wrap: a message is one line whatever the terminal's width (a terminal folds it for the
# eye; a pipe, a log file or a test sees it whole), so a path in it is never broken or cut. Tables
# still lay out to the width.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

_state = {"debug": False}

# Errors a user can fix (bad data, a bad model file, a bad setting): one line, exit 1. Anything
# else is a bug in weightwise and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    WeightwiseError,
    FileNotFoundError,
    ValueError,
    ImportError,
    OSError,
)

F = TypeVar("F", bound=Callable[..., Any])


def one_line(exc: BaseException) -> str:
    """The exception's message on a single line (newlines and runs of spaces collapsed)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _report(exc: BaseException) -> None:
    err_console.print(f"error: {one_line(exc)}", highlight=False, markup=False, soft_wrap=True)


def _user_errors_exit_1(command: F) -> F:
    """Turn a user error raised by ``command`` into one line on stderr and exit status 1.

    Done inside each command (not only in :func:`main`) so that ``typer.testing.CliRunner``, which
    calls the app directly, sees the same behaviour as the console script.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as exc:
            if _state["debug"]:
                raise
            _report(exc)
            raise typer.Exit(1) from None

    wrapper.__doc__ = reflow(command.__doc__ or "")
    return wrapper  # type: ignore[return-value]


def reflow(doc: str) -> str:
    """Join the hard-wrapped lines of each docstring paragraph, keeping list items on their own lines.

    typer's rich help keeps single line breaks after the first paragraph, so a docstring wrapped at
    the source's line length would print ragged.
    """
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    out = []
    for par in paragraphs:
        lines = par.splitlines()
        if any(line.lstrip().startswith(("- ", "* ")) for line in lines):
            out.append(par)
        else:
            out.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(out)


def _version(value: bool) -> None:
    if value:
        console.print(f"weightwise {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _state["debug"] = debug


def main() -> None:
    """Entry point: usage errors exit 2 (typer's); data and model errors print one line, exit 1."""
    try:
        app()
    except USER_ERRORS as exc:
        if _state["debug"]:
            raise
        _report(exc)
        sys.exit(1)
