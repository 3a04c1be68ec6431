"""The typer app, its consoles and the one-line error handling every command shares."""

from __future__ import annotations

import functools
import inspect
import re
import sys
import textwrap
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from .. import __version__
from ..errors import WeightwiseError

# --------------------------------------------------------------------------------------------------
# help: click's plain layout, which reads whole at 80 columns (typer's rich panels cut option
# names and help with "…" there), with flags shown as flags ("--resume", "--progress /
# --no-progress") and words never broken at their hyphens ("--mnist-" / "path").


def wrap_help(text: str, width: int, indent: str = "", subsequent: str | None = None) -> str:
    """``text`` wrapped to ``width`` paragraph by paragraph, breaking only at spaces.

    A paragraph whose first line is ``\b`` (click's marker) keeps its lines as written.
    """
    wrapper = textwrap.TextWrapper(
        width,
        initial_indent=indent,
        subsequent_indent=indent if subsequent is None else subsequent,
        break_on_hyphens=False,
        break_long_words=False,
        replace_whitespace=False,
    )
    out = []
    for par in text.expandtabs().strip("\n").split("\n\n"):
        lines = par.splitlines()
        if lines and lines[0].strip() == "\b":
            out.append("\n".join(wrapper.subsequent_indent + line for line in lines[1:]))
        else:
            out.append(wrapper.fill(" ".join(line.strip() for line in lines)))
    return "\n\n".join(out)


# typer bundles its own click: its classes are reached through TyperCommand, not ``import click``.
_ClickContext: Any = TyperCommand.context_class


class HelpFormatter(_ClickContext.formatter_class):  # type: ignore[misc]
    """click's formatter with :func:`wrap_help` in place of its hyphen-breaking wrapper."""

    def write_text(self, text: str) -> None:
        self.write(wrap_help(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((len(r[0]) for r in rows), default=0), col_max) + col_spacing
        pad = " " * (first_col + self.current_indent)
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + pad)
            width = max(self.width - first_col - self.current_indent, 20)
            lines = wrap_help(" ".join(second.split()), width).splitlines()
            self.write(("\n" + pad).join(lines) + "\n")


class _Context(_ClickContext):  # type: ignore[misc]
    formatter_class = HelpFormatter


def _short_help(command: Any) -> str:
    """The command's first sentence, whole (click cuts it to fit one line with "...")."""
    if command.short_help:
        return inspect.cleandoc(command.short_help)
    first = " ".join((command.help or "").split("\n\n")[0].split())
    end = first.find(". ")
    return first if end < 0 else first[: end + 1]


class Command(TyperCommand):
    """A command with the plain help of :class:`HelpFormatter`."""

    context_class = _Context

    def get_short_help_str(self, limit: int = 45) -> str:
        return _short_help(self)


class Group(TyperGroup):
    """A command group with the plain help of :class:`HelpFormatter`."""

    context_class = _Context

    def get_short_help_str(self, limit: int = 45) -> str:
        return _short_help(self)


class Typer(typer.Typer):
    """``typer.Typer`` whose commands and groups use :class:`Command` and :class:`Group`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(rich_markup_mode=None, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


app = Typer(
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
# markup=False: text is printed as written, never read as rich markup, so a class label "a[/]" or
# a path "[bold]x" shows literally (styling is given as rich Text, see the commands).
console = Console(soft_wrap=True, markup=False)
err_console = Console(stderr=True, soft_wrap=True, markup=False)

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


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 epoch"``, ``"2 epochs"``; ``words`` for an irregular plural."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def one_line(exc: BaseException) -> str:
    """The exception's message on a single line (newlines and runs of spaces collapsed)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# The library's parameter names as the command line spells them, for messages the library writes.
CLI_NAMES = {
    "max_epochs": "--epochs",
    "learning_rate": "--lr",
    "n_iter_no_change": "--patience",
    "random_state": "--seed",
    "batch_size": "--batch-size",
    "hidden_layer_sizes": "--hidden",
    "early_stopping": "--early-stopping",
    "validation_fraction": "--validation-fraction",
    "checkpoint_dir": "--checkpoint-dir",
    "pretrain_learning_rate": "--pretrain-lr",
    "pretrain_epochs": "--pretrain-epochs",
    "pretrain_batch_size": "--pretrain-batch-size",
    "weight_cost": "--weight-cost",
    "cd_k": "--cd-k",
    "output_activation": "--output-activation",
    "device": "--device",
    "backend": "--backend",
    "dtype": "--dtype",
}
_ASSIGNED = re.compile(r"\b(" + "|".join(CLI_NAMES) + r")=(['\"]?)([^\s,;'\"]+)\2")
_BARE = re.compile(r"(?<![\w\-/.])(" + "|".join(k for k in CLI_NAMES if "_" in k) + r")(?![\w/.])")


def cli_words(text: str) -> str:
    """A library message in the command line's words: ``max_epochs=2`` -> ``--epochs 2``,
    ``learning_rate`` -> ``--lr``, ``device='cpu'`` -> ``--device cpu``."""
    text = _ASSIGNED.sub(lambda m: f"{CLI_NAMES[m.group(1)]} {m.group(3)}", text)
    return _BARE.sub(lambda m: CLI_NAMES[m.group(1)], text)


def _report(exc: BaseException) -> None:
    err_console.print(
        f"error: {cli_words(one_line(exc))}", highlight=False, markup=False, soft_wrap=True
    )


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


def reflow(doc: str, width: int = 76) -> str:
    """A docstring as help: paragraphs joined (the formatter wraps them), lists kept item by item.

    Each list item is wrapped here to ``width`` with a hanging indent, and the list is marked
    ``\\b`` so that the formatter keeps its lines.
    """
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    out = []
    for par in paragraphs:
        lines = par.splitlines()
        if any(line.lstrip().startswith(("- ", "* ")) for line in lines):
            items: list[str] = []
            for line in lines:
                if line.lstrip().startswith(("- ", "* ")) or not items:
                    items.append(line.strip())
                else:
                    items[-1] += " " + line.strip()
            wrapped = [wrap_help(item, width, "", "  ") for item in items]
            out.append("\b\n" + "\n".join(wrapped))
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
