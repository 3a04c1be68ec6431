"""How a report writes values and text.

:func:`format_value` is the one function behind every number on a report's pages (HTML, Markdown
and terminal); :func:`plain_value` turns NumPy and PyTorch scalars into the plain JSON values the
report stores. The Markdown-ish text of paragraphs (headings, ``-`` lists, fenced code, `code` and
**bold**) becomes escaped HTML, and Markdown cells never let raw HTML through.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np

from ..errors import DataError


def plain_value(value: Any) -> Any:
    """``value`` as a plain JSON value: NumPy scalars and 0-d arrays become Python numbers.

    Non-finite floats become the strings ``"nan"``, ``"inf"`` and ``"-inf"`` (strict JSON has no
    literal for them); :func:`format_value` renders a float and its string alike.
    """
    if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:
        value = value.item()
    elif hasattr(value, "item") and hasattr(value, "detach") and getattr(value, "ndim", 1) == 0:
        value = value.item()  # a 0-d torch tensor
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    raise DataError(
        f"cannot show {type(value).__name__} {value!r} as one number or text; "
        "give a number, a string, a bool or None"
    )


def format_value(value: Any, fmt: str | None = None) -> str:
    """The text shown for ``value``: the one function behind every number in HTML, Markdown and terminal.

    Parameters
    ----------
    value : number, str, bool or None
    fmt : str, optional
        A format spec for numbers (``".3f"``, ``".2%"``, ``".3g"``); the default shows integers in
        full and floats with 4 significant digits.

    Returns
    -------
    str
        ``""`` for None, ``"yes"``/``"no"`` for bools, ``"nan"``/``"inf"``/``"-inf"`` for non-finite
        numbers.
    """
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if fmt:
        return format(value, fmt)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


# The inline markup of paragraphs: a backslash escape, `code`, or **bold** (which may hold escapes).
_INLINE = re.compile(r"\\([\\`*_\[\]|<>#~!(){}.+-])|`([^`]+)`|\*\*((?:\\.|[^*\\])+)\*\*")
_BULLET = re.compile(r"^\s*[-*] ")
_HEADING = re.compile(r"^(#{1,4}) (.*)$")
_LITERAL = re.compile(r"([\\`*])")


def literal(text: str) -> str:
    """``text`` escaped for a paragraph: shown exactly as written in HTML and in Markdown.

    Paragraphs understand `code` and **bold**; a user's string (a method label, a file name) put
    into one goes through here, so a label such as ``**x**`` is not shown bold.
    """
    return _LITERAL.sub(r"\\\1", str(text))


def _inline(text: str, plain: Any, code: Any, bold: Any) -> str:
    """Split ``text`` into escapes, code spans, bold spans and plain runs, each rendered by its
    function (``plain`` for runs and escaped characters)."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(plain(text[pos : m.start()]))
        escaped, span, strong = m.groups()
        if escaped is not None:
            out.append(plain(escaped))
        elif span is not None:
            out.append(code(span))
        else:
            out.append(bold(strong))
        pos = m.end()
    out.append(plain(text[pos:]))
    return "".join(out)


def inline_html(text: str) -> str:
    """Escaped HTML of a line: `code` and **bold** become tags (the only inline markup understood)."""
    return _inline(
        text,
        lambda s: html.escape(s, quote=True),
        lambda s: f"<code>{html.escape(s, quote=True)}</code>",
        lambda s: f"<strong>{inline_html(s)}</strong>",
    )


def plain_text(text: str) -> str:
    """A paragraph for a terminal: `code` and **bold** without their marks, escapes undone, so
    no Markdown syntax is printed literally."""
    return "\n".join(_inline(line, lambda s: s, lambda s: s, plain_text) for line in text.split("\n"))


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 layer"``, ``"3 layers"``; ``words`` for an irregular plural."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def inline_md(text: str) -> str:
    """Markdown of a line: `code` and **bold** kept, everything else shown literally."""
    return _inline(
        text,
        md_text,
        lambda s: f"` {s} `" if s.startswith("`") else f"`{s}`",
        lambda s: f"**{inline_md(s)}**",
    )


def _blocks(text: str) -> list[tuple[str, Any]]:
    """Markdown-ish blocks: ("code", body), ("list", items), ("heading", (level, text)),
    ("paragraph", text)."""
    blocks: list[tuple[str, Any]] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if block.startswith("```"):
            blocks.append(("code", "\n".join(x for x in lines[1:] if not x.startswith("```"))))
        elif all(_BULLET.match(line) for line in lines):
            blocks.append(("list", [_BULLET.sub("", x) for x in lines]))
        elif m := _HEADING.match(lines[0]):
            blocks.append(("heading", (len(m.group(1)), m.group(2))))
            if len(lines) > 1:
                blocks.append(("paragraph", " ".join(lines[1:])))
        else:
            blocks.append(("paragraph", " ".join(lines)))
    return blocks


def text_html(text: str) -> str:
    """Markdown-ish blocks: ``#`` headings, ``- `` lists, fenced code, paragraphs."""
    parts = []
    for kind, body in _blocks(text):
        if kind == "code":
            parts.append(f"<pre><code>{html.escape(body)}</code></pre>")
        elif kind == "list":
            parts.append("<ul>" + "".join(f"<li>{inline_html(x)}</li>" for x in body) + "</ul>")
        elif kind == "heading":
            level = body[0] + 1  # "#" inside the body is below the report's own title
            parts.append(f"<h{level}>{inline_html(body[1])}</h{level}>")
        else:
            parts.append(f"<p>{inline_html(body)}</p>")
    return "\n".join(parts)


def text_md(text: str) -> str:
    """The same blocks as :func:`text_html`, as Markdown in which only the understood markup acts:
    no raw HTML, link, emphasis or table syntax from the text gets through."""
    parts = []
    for kind, body in _blocks(text):
        if kind == "code":
            parts.append(fenced(body))
        elif kind == "list":
            parts.append("\n".join(f"- {inline_md(x)}" for x in body))
        elif kind == "heading":
            parts.append("#" * (body[0] + 1) + " " + inline_md(body[1]))
        else:
            parts.append(inline_md(body))
    return "\n\n".join(parts)


def fenced(body: str) -> str:
    """A fenced code block whose fence is longer than any run of backticks in ``body``."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{body}\n{fence}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")
# What starts a list, a numbered list or a rule (or setext heading) at the start of a line.
_MD_LINE_START = re.compile(r"^(\s*|\s*\d+(?=[.)]))([-+.)=])(?=\s|$|[-=]*\s*$)", re.M)


def md_text(text: str) -> str:
    """Plain text for Markdown, shown literally: no raw HTML, emphasis, link, code, table or
    list syntax gets through (HTML characters become entities, the others are backslash-escaped)."""
    out = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = _MD_SPECIAL.sub(r"\\\1", out)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), out)


def md_cell(text: str) -> str:
    """A Markdown table cell: :func:`md_text` on one line."""
    return md_text(str(text).replace("\r", " ").replace("\n", " "))
