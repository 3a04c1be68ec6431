"""Reports and figures: every number on the page comes from results.json, the page is offline-safe,
and every figure function draws what it was given without touching pyplot's global state."""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from weightwise.errors import DataError
from weightwise.evidence import plots
from weightwise.evidence.report import Report, format_value, load_results, plain_value

HOSTILE = '<script>alert("x")</script> & "quotes"'


class _Page(HTMLParser):
    """Collects table cells by table id, key numbers, tags and attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.numbers: dict[str, str] = {}
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._number: str | None = None
        self._in_tbody = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        a = dict(attrs)
        if tag == "table":
            self._table = str(a["id"]).removeprefix("table-")
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody and self._table:
            self.tables[self._table].append([])
        elif tag == "td":
            self._cell = []
        elif tag == "dd":
            self._number = str(a["id"]).removeprefix("number-")
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "dd" and self._number and self._cell is not None:
            self.numbers[self._number] = "".join(self._cell)
            self._cell, self._number = None, None
        elif tag == "tbody":
            self._in_tbody = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.fixture
def report() -> Report:
    rng = np.random.default_rng(0)
    r = Report(
        f"Compare {HOSTILE}",
        command="weightwise compare --quick",
        config={"depth": 5, "widths": (32, 16), "lr": np.float32(0.5)},
        timestamp="2026-01-01T00:00:00+00:00",
    )
    r.number("accuracy", np.float64(0.971234), label="best test accuracy", fmt=".2%")
    r.number("ratio", 1 / 850, label="gradient ratio layer 1 / layer 5")
    r.number("epochs", np.int64(30))
    r.heading(f"Results {HOSTILE}")
    r.paragraph(
        f"Plain BP **vanishes** in `layer 1`. {HOSTILE}\n\n- one\n- two\n\n```\nweightwise compare\n```"
    )
    r.table(
        "methods",
        [
            {"method": "bp", "accuracy": 0.912345678, "seconds": 1.5, "converged": True},
            {"method": HOSTILE, "accuracy": float("nan"), "seconds": np.float32(2.25), "note": None},
            {
                "method": "relu",
                "accuracy": np.float64(0.987654321),
                "seconds": 123456.789,
                "converged": False,
            },
        ],
        formats={"accuracy": ".3f"},
        caption=f"accuracy {HOSTILE}",
    )
    r.table("depth", {"depth": [1, 2, 3], "error": [0.1, 2e-7, float("inf")], "n": np.array([3, 3, 2])})
    r.figure("curves", plots.learning_curves({"bp": rng.random((3, 5))}), caption=HOSTILE)
    r.figure("bars", plots.figure_png(plots.gradient_norm_bars({"init": [1e-4, 1e-2]})))
    return r


def test_format_value() -> None:
    assert format_value(None) == ""
    assert format_value(True) == "yes"
    assert format_value(np.int64(7)) == "7"
    assert format_value(0.123456789) == "0.1235"
    assert format_value(0.5, ".1%") == "50.0%"
    assert format_value(float("nan")) == format_value("nan") == "nan"
    assert format_value(-math.inf) == "-inf"
    assert plain_value(np.float32(0.25)) == 0.25 and isinstance(plain_value(np.float32(0.25)), float)
    with pytest.raises(DataError, match="one number"):
        plain_value([1, 2])


def test_write_produces_every_file(report: Report, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "table_old.csv").write_text("a\n1\n")  # from an earlier report: removed
    files = report.write(tmp_path / "out")
    names = sorted(p.name for p in files.folder.iterdir())
    assert names == [
        "figure_bars.png",
        "figure_curves.png",
        "report.html",
        "report.md",
        "results.json",
        "table_depth.csv",
        "table_methods.csv",
    ]
    assert _png_size(files.figures["curves"].read_bytes()) == (480, 400)  # 4.8 x 4 inches, dpi 100


def test_html_numbers_are_the_json_numbers(report: Report, tmp_path: Path) -> None:
    files = report.write(tmp_path)
    page = _Page()
    page.feed(files.html.read_text(encoding="utf-8"))
    # Strict JSON: a NaN literal would make this raise.
    data = json.loads(files.json.read_text(), parse_constant=lambda c: pytest.fail(f"JSON holds {c}"))
    assert set(page.tables) == set(data["tables"]) == {"methods", "depth"}
    n_numeric = 0
    for name, table in data["tables"].items():
        shown = page.tables[name]
        assert len(shown) == len(table["rows"])
        for row_shown, row in zip(shown, table["rows"], strict=True):
            assert len(row_shown) == len(table["columns"])
            for col, text, value in zip(table["columns"], row_shown, row, strict=True):
                assert text == format_value(value, table["formats"].get(col))
                if isinstance(value, float) and not isinstance(value, bool):
                    n_numeric += 1
                    # And the text is that number, to the precision shown.
                    assert float(text) == pytest.approx(value, rel=1e-3, abs=1e-3)
    assert n_numeric >= 6
    assert page.numbers == {k: format_value(v["value"], v["format"]) for k, v in data["numbers"].items()}
    assert page.numbers["accuracy"] == "97.12%"
    assert data["numbers"]["accuracy"]["value"] == 0.971234  # full precision kept
    assert data["tables"]["methods"]["rows"][1][1] == "nan"
    assert data["tables"]["depth"]["rows"][2] == [3, "inf", 2]
    meta = data["metadata"]
    assert meta["command"] == "weightwise compare --quick"
    assert meta["config"] == {"depth": 5, "widths": [32, 16], "lr": 0.5}
    assert meta["timestamp"] == "2026-01-01T00:00:00+00:00"
    assert {"weightwise", "python", "numpy"} <= set(meta["versions"])
    assert load_results(tmp_path)["title"] == data["title"]


def test_html_is_self_contained_and_escaped(report: Report, tmp_path: Path) -> None:
    files = report.write(tmp_path)
    text = files.html.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert "http://" not in text and "https://" not in text
    sources = [v for tag, k, v in page.attrs if k in ("src", "href")]
    assert len(sources) == 2 and all(str(v).startswith("data:image/png;base64,") for v in sources)
    embedded = base64.b64decode(str(sources[0]).split(",", 1)[1])
    assert embedded == files.figures["curves"].read_bytes()
    # The hostile text arrives as text, never as markup, wherever it was put.
    assert sum(HOSTILE in t for t in page.text) >= 4
    assert page.tables["methods"][1][0] == HOSTILE
    assert "strong" in page.tags and "code" in page.tags and "li" in page.tags and "pre" in page.tags


def test_markdown_and_csv(report: Report, tmp_path: Path) -> None:
    files = report.write(tmp_path)
    md = files.markdown.read_text(encoding="utf-8")
    assert "<script>" not in md.split("Plain BP")[0]  # title and heading are escaped
    assert "![&lt;script&gt;" in md and "(figure_curves.png)" in md and "(figure_bars.png)" in md
    assert "| bp | 0.912 | 1.5 | yes |  |" in md
    assert "| 97.12% |" in md
    with files.csv["methods"].open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["method", "accuracy", "seconds", "converged", "note"]
    assert float(rows[1][1]) == 0.912345678  # full precision, not the 3 decimals shown
    assert rows[2][1] == "nan" and rows[2][4] == ""
    with files.csv["depth"].open(newline="") as fh:
        assert list(csv.reader(fh))[2:] == [["2", "2e-07", "3"], ["3", "inf", "2"]]


def test_bad_content_is_refused() -> None:
    r = Report("t")
    r.table("a", [{"x": 1}])
    with pytest.raises(DataError, match="already"):
        r.table("a", [{"x": 1}])
    with pytest.raises(DataError, match="file name"):
        r.table("a b/c", [{"x": 1}])
    with pytest.raises(DataError, match="different lengths"):
        r.table("ragged", {"x": [1, 2], "y": [1]})
    with pytest.raises(DataError, match="one number"):
        r.table("nested", [{"x": [1, 2]}])
    with pytest.raises(DataError, match="unknown column"):
        r.table("fmt", [{"x": 1}], formats={"y": ".2f"})
    with pytest.raises(DataError, match="format"):
        r.table("badfmt", [{"x": 1}], formats={"x": "q"})
    with pytest.raises(DataError, match="not a PNG"):
        r.figure("f", b"GIF89a")
    with pytest.raises(DataError, match="level"):
        r.heading("h", level=1)
    r.number("n", 1)
    with pytest.raises(DataError, match="already"):
        r.number("n", 2)
    with pytest.raises(DataError, match="no table"):
        r.summary_table("missing")
    assert r.summary_table("a").row_count == 1 and r.summary_table().row_count == 1


# --------------------------------------------------------------------------- figures


def test_learning_curves_mean_and_band_over_ragged_seeds() -> None:
    # The second seed stopped after 2 epochs: its absent epochs must not count as zeros.
    fig = plots.learning_curves({"bp": [[1.0, 0.5, 0.3], [3.0, 1.5]], "relu": [0.2, 0.1]}, band="minmax")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 1.0, 0.3])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.2, 0.1])
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 2, 3])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.3) and band[:, 1].max() == pytest.approx(3.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["bp (n=2)", "relu"]
    panels = plots.learning_curve_panels({"loss": {"a": [1, 2]}, "accuracy": {"a": [0.5, 0.6]}})
    assert [a.get_ylabel() for a in panels.axes] == ["loss", "accuracy"]
    with pytest.raises(DataError, match="band"):
        plots.learning_curves({"a": [1]}, band="iqr")


def test_gradient_flow_heatmap_draws_layers_by_epochs() -> None:
    norms = np.array([[1e-6, 1e-2, 1.0], [0.0, 1e-3, 0.5]])  # (n_epochs=2, n_layers=3)
    fig = plots.gradient_flow_heatmap(norms)
    image = fig.axes[0].images[0]
    data = image.get_array()
    assert data.shape == (3, 2)  # layers up, epochs across
    assert data.mask[0, 1] and not data.mask[0, 0]  # zero cannot sit on a log scale: blank
    np.testing.assert_allclose(data[2], [1.0, 0.5])
    assert image.norm.vmin == pytest.approx(1e-6) and image.norm.vmax == pytest.approx(1.0)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["layer 1", "layer 2", "layer 3"]
    with pytest.raises(DataError, match="n_epochs, n_layers"):
        plots.gradient_flow_heatmap(np.ones(3))


def test_depth_plot_error_bars() -> None:
    fig = plots.depth_plot({"bp": {3: [0.3, 0.5], 1: [0.1, 0.1]}, "relu": {1: [0.05]}})
    ax = fig.axes[0]
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_xdata(), dtype=float), [1, 3])
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_ydata(), dtype=float), [0.1, 0.4])
    bars = ax.containers[0].lines[2][0].get_segments()
    np.testing.assert_allclose(np.asarray(bars[1], dtype=float), [[3, 0.3], [3, 0.5]])  # mean -+ std


def test_information_plane_and_image_grids() -> None:
    rng = np.random.default_rng(1)
    fig = plots.information_plane(rng.random((4, 3)) * 8, rng.random((4, 3)))
    assert len(fig.axes[0].collections) == 3 and fig.axes[0].get_xlabel() == "I(X;T) [bits]"
    with pytest.raises(DataError, match="share a shape"):
        plots.information_plane(np.ones((4, 3)), np.ones((4, 2)))

    W = rng.normal(size=(64, 10))
    grid = plots.feature_grid(W, n_cols=5)
    drawn = [a for a in grid.axes if a.images]
    assert len(drawn) == 10
    np.testing.assert_allclose(drawn[3].images[0].get_array(), W[:, 3].reshape(8, 8))
    with pytest.raises(DataError, match="shape"):
        plots.feature_grid(rng.normal(size=(10, 3)))
    assert len([a for a in plots.feature_grid(W, (4, 16), n_max=4).axes if a.images]) == 4

    x, r = rng.random((3, 784)), rng.random((3, 784))
    rec = plots.reconstruction_grid(x, r, n_max=2)
    images = [a.images[0].get_array() for a in rec.axes]
    np.testing.assert_allclose(images[1], x[1].reshape(28, 28))
    np.testing.assert_allclose(images[3], r[1].reshape(28, 28))
    assert len(plots.sample_grid(x, n_cols=2).axes) == 4  # 2 x 2, one cell blank


def test_gradient_norm_bars_and_save(tmp_path: Path) -> None:
    fig = plots.gradient_norm_bars({"init": [1e-5, 1e-3, 1e-1], "trained": [1e-3, 0.0, 1.0]})
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights[:3], [1e-5, 1e-3, 1e-1])
    assert np.isnan(heights[4])  # a zero has no place on a log scale
    with pytest.raises(DataError, match="one norm per layer"):
        plots.gradient_norm_bars({"a": [1, 2], "b": [1]})
    path = plots.save_figure(fig, tmp_path / "sub" / "bars.png")
    assert path.exists() and _png_size(path.read_bytes())[0] > 0


def test_figures_leave_pyplot_alone() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.learning_curves({"a": [1, 2]})
    plots.sample_grid(np.ones((2, 4)))
    assert plt.get_fignums() == before


def test_torch_tensors_are_accepted() -> None:
    torch = pytest.importorskip("torch")
    fig = plots.gradient_flow_heatmap(torch.tensor([[1.0, 2.0]]))
    np.testing.assert_allclose(fig.axes[0].images[0].get_array()[:, 0], [1.0, 2.0])
    r = Report("t")
    r.number("x", torch.tensor(0.5))
    assert r.numbers["x"].value == 0.5


# --------------------------------------------------------------------------- user strings in report.md

EVIL = ["a|b", "[x](javascript:alert(1))", "<script>alert(1)</script>", "**bold**", "`tick` _u_ ~s~"]


def _md_html(md: str) -> str:
    """report.md rendered as GitHub would (CommonMark with tables)."""
    markdown_it = pytest.importorskip("markdown_it")
    return str(markdown_it.MarkdownIt("commonmark").enable("table").render(md))


def test_markdown_escapes_user_strings_as_html_does(tmp_path: Path) -> None:
    from weightwise.evidence.report_text import literal

    r = Report(" ".join(EVIL), command="weightwise compare --out '<b>|x'")
    r.number("n", 1.0, label=EVIL[0] + EVIL[2])
    r.heading(EVIL[1])
    r.paragraph(f"Best: **{literal(EVIL[3])}**; `code` stays code.\n\n- {literal(EVIL[0])}: listed")
    r.table("t", [{"label": e, "value": i} for i, e in enumerate(EVIL)], caption=EVIL[2])
    r.figure("f", plots.learning_curves({"x": [1.0, 0.5]}), caption=EVIL[1] + EVIL[2])
    files = r.write(tmp_path)
    rendered = _md_html(files.markdown.read_text(encoding="utf-8"))
    page = files.html.read_text(encoding="utf-8")
    for out in (rendered, page):
        assert "<script>" not in out and "javascript:" not in out.replace("[x](javascript:", "")
        assert 'href="javascript' not in out
        assert "<strong>bold</strong>" not in out  # the label's ** is shown, not obeyed
        assert "<em>u</em>" not in out and "<del>" not in out
    # The paragraph's own markup still works in both, around the literal label.
    assert "<strong>**bold**</strong>" in rendered and "<strong>**bold**</strong>" in page
    assert "<code>code</code>" in rendered and "<code>code</code>" in page
    # Table cells: one per column, each label shown exactly (the pipe did not split the cell).
    rows = re.findall(r"<tr>(.*?)</tr>", rendered.split("<table>")[-1], re.S)[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    assert [len(c) for c in cells] == [2] * len(EVIL)
    shown = [html.unescape(c[0]) for c in cells]
    assert shown == EVIL
    assert html.unescape(re.search(r"<h1>(.*?)</h1>", rendered).group(1)) == " ".join(EVIL)


def test_conclusions_show_labels_literally() -> None:
    from weightwise.evidence.experiment_reports import compare_conclusion

    rows = [
        {
            "label": EVIL[3] + EVIL[0],
            "method": "bp",
            "runs": 1,
            "test_accuracy": 0.5,
            "test_accuracy_std": 0.0,
            "grad_ratio_init": 0.01,
            "grad_ratio_start": 0.01,
            "grad_ratio_final": 0.1,
        }
    ]
    cfg = {"hidden": [8, 8], "epochs": 1, "batch_size": 4, "learning_rate": 0.1, "momentum": 0.9}
    results = [{"data": "digits", "n_train": 10, "n_test": 5}]
    r = Report("t")
    r.paragraph(compare_conclusion(rows, cfg, results))
    assert "<strong>bold</strong>" not in r.to_html()
    assert "**bold**a|b" in html.unescape(re.sub(r"<[^>]+>", "", r.to_html()))
    assert "<strong>bold</strong>" not in _md_html(r.to_markdown())


# --------------------------------------------------------------------------- figures legible at 960 px


def _inside(fig: Figure) -> bool:
    """Everything drawn (axes with their titles, ticks and legends; figure legends and titles)
    lies inside the figure: nothing is clipped."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    box = fig.bbox
    artists = [*fig.axes, *fig.legends, *fig.texts]
    artists += [t for t in (fig._suptitle, fig._supylabel) if t is not None]  # type: ignore[attr-defined]
    for a in artists:
        b = a.get_tightbbox(renderer)
        if b is None:
            continue
        if b.x0 < box.x0 - 1 or b.x1 > box.x1 + 1 or b.y0 < box.y0 - 1 or b.y1 > box.y1 + 1:
            return False
    return True


def test_gradient_norm_bars_fit_the_report_and_name_the_output_layer() -> None:
    from weightwise.evidence.experiment_reports import layer_names

    series = {f"a rather long method label number {i}": np.logspace(-5, -1, 6) for i in range(5)}
    fig = plots.gradient_norm_bars(
        series,
        title="Does the gradient reach layer 1 when back-propagation starts?",
        layer_labels=layer_names(6),
    )
    width, _ = _png_size(plots.figure_png(fig))
    assert width <= 960  # was 1780 px, shrunk to half in the report
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["1", "2", "3", "4", "5", "output"]
    assert fig.legends and _inside(fig)


def test_gradient_flow_panels_share_one_colour_scale() -> None:
    from weightwise.evidence.method_figures import gradient_flow_panels

    long_label = "plain BP (sigmoid, standard init) with a label long enough to be cut"
    fig = gradient_flow_panels(
        {long_label: np.full((5, 4), 1e-5), "other": np.full((5, 4), 1.0)},
        title="Where does the gradient vanish? ||dL/dW|| per layer and epoch",
        layer_names=["1", "2", "3", "output"],
    )
    norms = {(im.norm.vmin, im.norm.vmax) for ax in fig.axes for im in ax.images}
    assert norms == {(1e-5, 1.0)}  # one scale: the tiny norms are dark, the large ones bright
    assert _png_size(plots.figure_png(fig))[0] <= 960 and _inside(fig)
    assert fig.axes[0].get_yticklabels()[-1].get_text() == "output"


def test_depth_plot_draws_the_chance_line() -> None:
    fig = plots.depth_plot({"bp": {1: [0.1], 3: [0.9]}}, reference=(0.9, "chance"))
    ax = fig.axes[0]
    assert any(list(line.get_ydata()) == [0.9, 0.9] for line in ax.get_lines())
    assert "chance" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_feature_panels_and_grids_fit_the_report() -> None:
    from weightwise.evidence.method_figures import feature_panels

    rng = np.random.default_rng(0)
    fig = feature_panels(
        {f"method {i}: after fine-tuning": rng.normal(size=(64, 25)) for i in range(4)},
        (8, 8),
        title="First-layer weights after training",
    )
    assert _png_size(plots.figure_png(fig))[0] <= 960 and _inside(fig)
    grid = plots.feature_grid(
        rng.normal(size=(64, 100)),
        title="What did layer 1 learn? Its filters after pre-training, before any fine-tuning",
    )
    assert _png_size(plots.figure_png(grid))[0] <= 960 and _inside(grid)
