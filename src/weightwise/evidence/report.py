"""Reports: one folder per command, readable offline and checkable by a machine.

A :class:`Report` collects, in order, headings, paragraphs (Markdown-ish text), tables, figures and
key numbers, then :meth:`Report.write` produces::

    folder/report.html        self-contained: inline CSS, figures as base64 PNG data URIs, no scripts
    folder/report.md          the same content; figures linked as the PNG files beside it
    folder/results.json       every number shown (full precision) plus metadata: command, config,
                              versions, timestamp
    folder/table_<name>.csv   one per table, full precision
    folder/figure_<name>.png  one per figure

Every number on the page is rendered by :func:`format_value` from the very value stored in
``results.json`` (with the format stored beside it), so the page and the data cannot disagree.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import json
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .report_style import CSS as _CSS
from .report_text import fenced, format_value, md_cell, md_text, plain_value, text_html, text_md

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

RESULTS_FORMAT = "weightwise-report"
RESULTS_VERSION = 1
COLLAPSE_ROWS = 12
"""Tables longer than this are collapsed (a click opens them) unless told otherwise."""


def _check_name(name: str, kind: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DataError(
            f"{kind} name {name!r} is not usable in a file name; use letters, digits, '_', '-' or '.'"
        )
    return name


# --------------------------------------------------------------------------- content


@dataclass
class Table:
    """A table of plain values, one list per row, in the order of ``columns``."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
    formats: dict[str, str] = field(default_factory=dict)
    caption: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    collapsed: bool | None = None

    def header(self, column: str) -> str:
        """The header a reader sees: the given one, else the column name with spaces for '_'."""
        return self.headers.get(column) or column.replace("_", " ")

    @property
    def is_collapsed(self) -> bool:
        """Shown collapsed: as asked, else when it has more than :data:`COLLAPSE_ROWS` rows."""
        return len(self.rows) > COLLAPSE_ROWS if self.collapsed is None else self.collapsed

    def text(self) -> list[list[str]]:
        """Each cell as shown, by :func:`format_value` with the column's format."""
        fmts = [self.formats.get(c) for c in self.columns]
        return [[format_value(v, f) for v, f in zip(row, fmts, strict=True)] for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "caption": self.caption,
            "columns": self.columns,
            "headers": [self.header(c) for c in self.columns],
            "formats": self.formats,
            "rows": self.rows,
        }


@dataclass
class KeyNumber:
    """One headline number: its value, a human label and an optional format."""

    name: str
    value: Any
    label: str
    fmt: str | None = None

    def text(self) -> str:
        return format_value(self.value, self.fmt)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "label": self.label, "format": self.fmt}


@dataclass
class FigureItem:
    """A figure as PNG bytes, saved as ``figure_<name>.png``."""

    name: str
    png: bytes
    caption: str | None = None

    @property
    def filename(self) -> str:
        return f"figure_{self.name}.png"


@dataclass
class ReportFiles:
    """Paths of what :meth:`Report.write` produced."""

    folder: Path
    html: Path
    markdown: Path
    json: Path
    csv: dict[str, Path]
    figures: dict[str, Path]


def _rows_of(data: Any, columns: Sequence[str] | None, name: str) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows from a list of dict rows or from a mapping of column -> values."""
    if isinstance(data, Mapping):
        cols = list(columns) if columns is not None else [str(c) for c in data]
        missing = [c for c in cols if c not in data]
        if missing:
            raise DataError(f"table {name!r} has no column(s) {missing}; columns: {list(data)}")
        lengths = {len(data[c]) for c in cols}
        if len(lengths) > 1:
            raise DataError(f"table {name!r}: columns have different lengths {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        raw = [[data[c][i] for c in cols] for i in range(n)]
    elif isinstance(data, Sequence) and not isinstance(data, str):
        if not all(isinstance(r, Mapping) for r in data):
            raise DataError(
                f"table {name!r} must be a list of dict rows or a mapping of column -> values"
            )
        cols = list(columns) if columns is not None else []
        if columns is None:
            for r in data:
                cols += [str(k) for k in r if str(k) not in cols]
        raw = [[r.get(c) for c in cols] for r in data]
    else:
        raise DataError(f"table {name!r} must be a list of dict rows or a mapping of column -> values")
    try:
        rows = [[plain_value(v) for v in r] for r in raw]
    except DataError as exc:
        raise DataError(f"table {name!r}: {exc}") from exc
    return cols, rows


def _versions() -> dict[str, str]:
    """Versions of Python, the platform and the libraries the numbers depend on (loaded ones only)."""
    from .._version import __version__

    out = {
        "weightwise": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    # Only modules already imported: importing torch just to name its version would cost seconds.
    for module in ("numpy", "scipy", "sklearn", "matplotlib", "torch", "joblib", "dask", "distributed"):
        mod = sys.modules.get(module)
        version = getattr(mod, "__version__", None)
        if isinstance(version, str):
            out[module] = version
    return out


def _jsonable(obj: Any, where: str) -> Any:
    """A deep copy of ``obj`` that ``json.dumps`` accepts (tuples -> lists, NumPy -> Python)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, np.ndarray) and obj.ndim > 0:
        return [_jsonable(v, where) for v in obj.tolist()]
    if isinstance(obj, list | tuple):
        return [_jsonable(v, where) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    try:
        return plain_value(obj)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from exc


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) or value in (
        "nan",
        "inf",
        "-inf",
    )


# --------------------------------------------------------------------------- the builder


class Report:
    """Build a report, then :meth:`write` it as HTML, Markdown, JSON, CSV and PNG files.

    Parameters
    ----------
    title : str
    command : str, optional
        The command line that regenerates the report (shown, and stored in the metadata).
    config : mapping, optional
        The full configuration of the run(s), stored in ``results.json``.
    metadata : mapping, optional
        Anything else worth keeping (e.g. data set sizes, seconds taken).
    timestamp : str, optional
        ISO time of the report; default now (UTC). Pass a fixed one for byte-identical output.

    Examples
    --------
    >>> r = Report("XOR by back-propagation", command="weightwise xor")
    >>> _ = r.number("accuracy", 1.0, label="training accuracy", fmt=".0%")
    >>> _ = r.table("runs", [{"seed": 0, "loss": 0.01}, {"seed": 1, "loss": 0.02}])
    """

    def __init__(
        self,
        title: str,
        *,
        command: str | None = None,
        config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        timestamp: str | None = None,
    ) -> None:
        self.title = str(title)
        self.command = command
        self.config = _jsonable(dict(config or {}), "config")
        self.metadata = _jsonable(dict(metadata or {}), "metadata")
        self.timestamp = timestamp or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.numbers: dict[str, KeyNumber] = {}
        self.tables: dict[str, Table] = {}
        self.figures: dict[str, FigureItem] = {}
        # The body in the order it was added: ("heading", level, text), ("text", text),
        # ("table", name), ("figure", name), ("numbers",) (where the key numbers go; at the top
        # when never placed).
        self._body: list[tuple[Any, ...]] = []
        self._versions: dict[str, str] | None = None

    @property
    def versions(self) -> dict[str, str]:
        """Library versions, taken once (at the first output) so that every file names the same."""
        if self._versions is None:
            self._versions = _versions()
        return self._versions

    # ------------------------------------------------------------------ adding content

    def heading(self, text: str, level: int = 2) -> Report:
        """A section heading (level 2 to 4; the title is level 1)."""
        if level not in (2, 3, 4):
            raise DataError(f"heading level must be 2, 3 or 4, got {level}")
        self._body.append(("heading", level, str(text)))
        return self

    def paragraph(self, text: str) -> Report:
        """Markdown-ish text: blank lines separate paragraphs; ``- `` lists, `code`, **bold**,
        ``#`` headings and fenced code blocks are understood; everything else is shown as written."""
        self._body.append(("text", str(text)))
        return self

    def key_numbers(self) -> Report:
        """Show the key numbers here (by default they open the report, before everything else)."""
        if any(item[0] == "numbers" for item in self._body):
            raise DataError("the key numbers are already placed in the report")
        self._body.append(("numbers",))
        return self

    def number(
        self, name: str, value: Any, *, label: str | None = None, fmt: str | None = None
    ) -> Report:
        """A key number, shown at the top of the report and stored under ``numbers.<name>``."""
        _check_name(name, "number")
        if name in self.numbers:
            raise DataError(f"key number {name!r} is already in the report; give each a unique name")
        try:
            plain = plain_value(value)
        except DataError as exc:
            raise DataError(f"key number {name!r}: {exc}") from exc
        format_value(plain, fmt)  # a bad format fails here, not when writing
        self.numbers[name] = KeyNumber(name, plain, label or name, fmt)
        return self

    def table(
        self,
        name: str,
        data: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]],
        *,
        columns: Sequence[str] | None = None,
        formats: Mapping[str, str] | None = None,
        caption: str | None = None,
        headers: Mapping[str, str] | None = None,
        collapsed: bool | None = None,
    ) -> Report:
        """A table from a list of dict rows, or from a mapping of column name -> values.

        Parameters
        ----------
        name : str
            Unique; the CSV file is ``table_<name>.csv``.
        columns : sequence of str, optional
            Which columns, in which order (default: all, in order of first appearance).
        formats : mapping of str to str, optional
            Format spec per column for numbers, e.g. ``{"accuracy": ".2%"}``.
        headers : mapping of str to str, optional
            What a reader sees above a column, e.g. ``{"test_accuracy": "test accuracy"}``
            (default: the column name with spaces for '_'); CSV files keep the column names.
        collapsed : bool, optional
            Show the table collapsed behind its caption (default: when it has more than
            :data:`COLLAPSE_ROWS` rows).
        """
        _check_name(name, "table")
        if name in self.tables:
            raise DataError(f"table {name!r} is already in the report; give each a unique name")
        cols, rows = _rows_of(data, columns, name)
        fmts = {str(k): str(v) for k, v in (formats or {}).items()}
        heads = {str(k): str(v) for k, v in (headers or {}).items() if k in cols}
        unknown = sorted(set(fmts) - set(cols))
        if unknown:
            raise DataError(
                f"table {name!r} has formats for unknown column(s) {unknown}; columns: {cols}"
            )
        table = Table(name, cols, rows, fmts, caption, heads, collapsed)
        try:
            table.text()
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"table {name!r}: a format does not suit its column's values: {exc}"
            ) from exc
        self.tables[name] = table
        self._body.append(("table", name))
        return self

    def figure(self, name: str, fig: Any, *, caption: str | None = None) -> Report:
        """A figure: a matplotlib ``Figure`` (rendered to PNG now) or PNG bytes."""
        _check_name(name, "figure")
        if name in self.figures:
            raise DataError(f"figure {name!r} is already in the report; give each a unique name")
        if isinstance(fig, bytes | bytearray):
            png = bytes(fig)
            if not png.startswith(_PNG_SIGNATURE):
                raise DataError(f"figure {name!r}: the bytes are not a PNG image")
        elif hasattr(fig, "savefig"):
            from .plots import figure_png

            png = figure_png(fig)
        else:
            raise DataError(f"figure {name!r} must be a matplotlib Figure or PNG bytes, got {type(fig)}")
        self.figures[name] = FigureItem(name, png, caption)
        self._body.append(("figure", name))
        return self

    # ------------------------------------------------------------------ output

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json``: every number shown, and how the report was made."""
        return {
            "format": RESULTS_FORMAT,
            "version": RESULTS_VERSION,
            "title": self.title,
            "metadata": {
                "command": self.command,
                "config": self.config,
                "timestamp": self.timestamp,
                "versions": self.versions,
                **self.metadata,
            },
            "numbers": {k: n.to_dict() for k, n in self.numbers.items()},
            "tables": {k: t.to_dict() for k, t in self.tables.items()},
            "figures": {k: {"file": f.filename, "caption": f.caption} for k, f in self.figures.items()},
        }

    def to_html(self) -> str:
        """The report as one self-contained HTML page."""
        esc = html.escape
        out = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        if not any(item[0] == "numbers" for item in self._body):
            out.append(self._numbers_html())
        for item in self._body:
            kind = item[0]
            if kind == "numbers":
                out.append(self._numbers_html())
            elif kind == "heading":
                out.append(f"<h{item[1]}>{esc(item[2])}</h{item[1]}>")
            elif kind == "text":
                out.append(text_html(item[1]))
            elif kind == "table":
                out.append(self._table_html(self.tables[item[1]]))
            else:
                f = self.figures[item[1]]
                data = base64.b64encode(f.png).decode("ascii")
                alt = esc(f.caption or f.name)
                cap = f"<figcaption>{esc(f.caption)}</figcaption>" if f.caption else ""
                out.append(
                    f'<figure id="figure-{esc(f.name)}"><img alt="{alt}" '
                    f'src="data:image/png;base64,{data}">{cap}</figure>'
                )
        out.append(self._footer_html())
        out.append("</body></html>")
        return "\n".join(out) + "\n"

    def _numbers_html(self) -> str:
        if not self.numbers:
            return ""
        esc = html.escape
        out = ['<section id="key-numbers"><h2>Key numbers</h2><dl class="keys">']
        for n in self.numbers.values():
            out.append(
                f'<div><dt>{esc(n.label)}</dt><dd id="number-{esc(n.name)}">{esc(n.text())}</dd></div>'
            )
        out.append("</dl></section>")
        return "\n".join(out)

    @staticmethod
    def _table_html(t: Table) -> str:
        esc = html.escape
        head = "".join(f'<th scope="col">{esc(t.header(c))}</th>' for c in t.columns)
        body = []
        for raw, shown in zip(t.rows, t.text(), strict=True):
            cells = "".join(
                f'<td class="num">{esc(s)}</td>' if _is_number(v) else f"<td>{esc(s)}</td>"
                for v, s in zip(raw, shown, strict=True)
            )
            body.append(f"<tr>{cells}</tr>")
        cap = f"<caption>{esc(t.caption)}</caption>" if t.caption and not t.is_collapsed else ""
        table = (
            f'<div class="table-wrap"><table id="table-{esc(t.name)}">{cap}<thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table></div>"
        )
        if not t.is_collapsed:
            return table
        what = esc(t.caption or t.name.replace("_", " "))
        return f"<details><summary>{what} ({len(t.rows)} rows)</summary>{table}</details>"

    def _footer_html(self) -> str:
        esc = html.escape
        parts = ["<footer><h2>How this report was made</h2>"]
        if self.command:
            parts.append(f"<p>Regenerate it with:</p><pre><code>{esc(self.command)}</code></pre>")
        parts.append(
            f"<p>Written {esc(self.timestamp)}. Every number is in <code>results.json</code>.</p>"
        )
        versions = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        parts.append(f"<p>Versions: {esc(versions)}</p>")
        if self.config:
            config = json.dumps(self.config, indent=2, sort_keys=True)
            parts.append(f"<details><summary>Configuration</summary><pre>{esc(config)}</pre></details>")
        parts.append("</footer>")
        return "\n".join(parts)

    def to_markdown(self) -> str:
        """The report as Markdown; figures are links to the PNG files written beside it."""
        out = [f"# {md_cell(self.title)}", ""]
        if not any(item[0] == "numbers" for item in self._body):
            out += self._numbers_md()
        for item in self._body:
            kind = item[0]
            if kind == "numbers":
                out += self._numbers_md()
            elif kind == "heading":
                out += ["#" * item[1] + " " + md_cell(item[2]), ""]
            elif kind == "text":
                out += [text_md(item[1]), ""]
            elif kind == "table":
                out += self._table_md(self.tables[item[1]])
            else:
                f = self.figures[item[1]]
                out += [f"![{md_cell(f.caption or f.name)}]({f.filename})", ""]
                if f.caption:
                    out += [f"*{md_text(f.caption)}*", ""]
        out += ["---", ""]
        if self.command:
            out += ["Regenerate with:", "", fenced(self.command), ""]
        out += [f"Written {self.timestamp}. Every number is in `results.json`.", ""]
        return "\n".join(out)

    def _numbers_md(self) -> list[str]:
        if not self.numbers:
            return []
        out = ["## Key numbers", "", "| | |", "|---|---:|"]
        out += [f"| {md_cell(n.label)} | {md_cell(n.text())} |" for n in self.numbers.values()]
        return [*out, ""]

    @staticmethod
    def _table_md(t: Table) -> list[str]:
        out = [f"**{md_cell(t.caption)}**", ""] if t.caption else []
        aligns = [
            "---:" if any(_is_number(r[i]) for r in t.rows) else "---" for i in range(len(t.columns))
        ]
        out.append("| " + " | ".join(md_cell(t.header(c)) for c in t.columns) + " |")
        out.append("|" + "|".join(aligns) + "|")
        out += ["| " + " | ".join(md_cell(s) for s in row) + " |" for row in t.text()]
        return [*out, ""]

    def write(self, folder: str | Path) -> ReportFiles:
        """Write report.html, report.md, results.json, one CSV per table and one PNG per figure.

        Files of the same names are replaced, and ``figure_*.png`` and ``table_*.csv`` files left by
        an earlier report in the folder are removed (they would no longer match ``results.json``);
        other files (e.g. a sweep's ``runs/``) are left alone.
        """
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        keep = {f.filename for f in self.figures.values()} | {f"table_{t}.csv" for t in self.tables}
        for stale in [*root.glob("figure_*.png"), *root.glob("table_*.csv")]:
            if stale.name not in keep and stale.is_file():
                stale.unlink()
        figures = {}
        for f in self.figures.values():
            figures[f.name] = root / f.filename
            figures[f.name].write_bytes(f.png)
        tables = {}
        for t in self.tables.values():
            path = root / f"table_{t.name}.csv"
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(t.columns)
                writer.writerows([["" if v is None else v for v in row] for row in t.rows])
            tables[t.name] = path
        json_path = root / "results.json"
        json_path.write_text(
            json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        html_path = root / "report.html"
        html_path.write_text(self.to_html(), encoding="utf-8")
        md_path = root / "report.md"
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return ReportFiles(root, html_path, md_path, json_path, tables, figures)

    # ------------------------------------------------------------------ terminal

    def summary_table(self, name: str | None = None) -> Any:
        """A ``rich.table.Table`` for the terminal: the key numbers, or the table called ``name``."""
        from rich.table import Table as RichTable

        if name is None:
            rich_table = RichTable(title=self.title)
            rich_table.add_column("")
            rich_table.add_column("value", justify="right")
            for n in self.numbers.values():
                rich_table.add_row(n.label, n.text())
            return rich_table
        if name not in self.tables:
            raise DataError(
                f"no table {name!r} in the report; tables: {', '.join(self.tables) or 'none'}"
            )
        t = self.tables[name]
        rich_table = RichTable(title=t.caption or t.name)
        for i, c in enumerate(t.columns):
            numeric = any(_is_number(r[i]) for r in t.rows)
            rich_table.add_column(c, justify="right" if numeric else "left")
        for row in t.text():
            rich_table.add_row(*row)
        return rich_table


def load_results(folder: str | Path) -> dict[str, Any]:
    """Read a report folder's ``results.json``."""
    path = Path(folder) / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; write the report first") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); rewrite the report") from exc
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise DataError(f"{path} is not a weightwise report's results.json")
    return data
