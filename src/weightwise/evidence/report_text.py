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


_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_BULLET = re.compile(r"^\s*[-*] ")


def inline_html(text: str) -> str:
    """Escape, then turn `code` and **bold** into tags (the only inline markup understood)."""
    out = html.escape(text, quote=True)
    out = _INLINE_CODE.sub(r"<code>\1</code>", out)
    return _BOLD.sub(r"<strong>\1</strong>", out)


def text_html(text: str) -> str:
    """Markdown-ish blocks: ``#`` headings, ``- `` lists, fenced code, paragraphs."""
    parts = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if block.startswith("```"):
            body = "\n".join(line for line in lines[1:] if not line.startswith("```"))
            parts.append(f"<pre><code>{html.escape(body)}</code></pre>")
        elif all(_BULLET.match(line) for line in lines):
            items = "".join(f"<li>{inline_html(_BULLET.sub('', x))}</li>" for x in lines)
            parts.append(f"<ul>{items}</ul>")
        elif m := re.match(r"^(#{1,4}) (.*)$", lines[0]):
            level = len(m.group(1)) + 1  # "#" inside the body is below the report's own title
            parts.append(f"<h{level}>{inline_html(m.group(2))}</h{level}>")
            if len(lines) > 1:
                parts.append(f"<p>{inline_html(' '.join(lines[1:]))}</p>")
        else:
            parts.append(f"<p>{inline_html(' '.join(lines))}</p>")
    return "\n".join(parts)


def md_text(text: str) -> str:
    """Plain text for Markdown: no raw HTML gets through (renderers would interpret it)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_cell(text: str) -> str:
    return md_text(text).replace("|", "\\|").replace("\n", " ")
