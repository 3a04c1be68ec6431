"""The evidence commands end to end: compare, study depth, reproduce; reports and bad input."""

from __future__ import annotations

import csv
import html
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_helpers import invoke as invoke_cli

from weightwise.cli.evidence import register
from weightwise.evidence.report import format_value


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """A fresh app holding only the evidence commands (the main CLI registers the same ones)."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    register(app)
    return app


def invoke(app: typer.Typer, *args: str) -> Any:
    return invoke_cli(*args, "--no-progress", app=app)


def html_tables(page: str) -> dict[str, list[list[str]]]:
    """``table name -> rows of cell texts`` as shown in the HTML report."""
    out = {}
    for name, body in re.findall(r'<table id="table-([^"]+)">(.*?)</table>', page, re.S):
        tbody = body.split("<tbody>", 1)[1]
        rows = re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
        out[name] = [
            [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
        ]
    return out


def check_report_files(folder: Path) -> dict[str, Any]:
    """Every kind of file is there, and every number on the page is the one in results.json."""
    for name in ("report.html", "report.md", "results.json"):
        assert (folder / name).is_file(), name
    pngs = list(folder.glob("figure_*.png"))
    csvs = list(folder.glob("table_*.csv"))
    assert pngs and csvs
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    results = json.loads((folder / "results.json").read_text())
    page = (folder / "report.html").read_text()
    shown = html_tables(page)
    assert set(shown) == set(results["tables"])
    for name, table in results["tables"].items():
        fmts = table["formats"]
        expected = [
            [format_value(v, fmts.get(c)) for c, v in zip(table["columns"], row, strict=True)]
            for row in table["rows"]
        ]
        assert shown[name] == expected, name
        with (folder / f"table_{name}.csv").open() as fh:
            assert len(list(csv.reader(fh))) == len(table["rows"]) + 1
    for name, number in results["numbers"].items():
        text = format_value(number["value"], number["format"])
        assert f'<dd id="number-{name}">{html.escape(text)}</dd>' in page
    assert "data:image/png;base64," in page
    return results


def test_compare_quick_end_to_end(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    # CPU time of this process, not wall time: on a shared CI machine other jobs stretch the latter.
    start = time.process_time()
    result = invoke(app, "compare", "--quick", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert time.process_time() - start < 60
    assert "Report:" in result.output and "report.html" in result.output
    results = check_report_files(out)
    summary = results["tables"]["summary"]
    methods = [row[summary["columns"].index("method")] for row in summary["rows"]]
    assert methods == ["bp", "rbm", "dae", "relu_he"]
    assert results["metadata"]["command"] == (
        f"weightwise compare --data digits --methods bp,rbm,dae,relu_he --out {out} --quick"
    )
    assert {"learning_curves", "grad_norms_start", "grad_norms_final"} <= set(results["figures"])
    assert any(f.startswith("flow_") for f in results["figures"])
    assert any(f.startswith("info_") for f in results["figures"])
    assert any(f.startswith("features_") for f in results["figures"])
    assert "With 5 hidden layers" in (out / "report.md").read_text()
    # (resuming without recomputing is tested in test_experiments.py)


def test_study_depth_quick_end_to_end(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "depth"
    start = time.process_time()
    result = invoke(app, "study", "depth", "--quick", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert time.process_time() - start < 60
    results = check_report_files(out)
    depth = results["tables"]["depth"]
    cols = depth["columns"]
    pairs = {(row[cols.index("method")], row[cols.index("depth")]) for row in depth["rows"]}
    assert pairs == {(m, d) for m in ("bp", "relu_he") for d in (1, 3, 5)}
    assert {"error_vs_depth", "seconds_vs_depth", "norms_bp", "norms_relu_he"} <= set(results["figures"])
    assert "Test error against depth" in result.output


def test_reproduce_list(app: typer.Typer) -> None:
    result = invoke_cli("reproduce", "--list", app=app)
    assert result.exit_code == 0
    for name in ("hinton2006", "vincent2010", "erhan2010", "glorot2010", "Salakhutdinov", "Glorot"):
        assert name in result.output


def test_reproduce_erhan_quick_on_digits(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "erhan"
    result = invoke(
        app,
        "reproduce",
        "erhan2010",
        "--quick",
        "--data",
        "digits",
        "--epochs",
        "1",
        "--n-train",
        "150",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    results = check_report_files(out)
    published = results["tables"]["published"]
    assert "depth" in published["columns"] and len(published["rows"]) == 12  # 3 methods x depths 1-4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "--methods", "bp,sgd"], "unknown method 'sgd'; valid methods: 'ae', 'bp'"),
        (["compare", "--data", "cifar"], "unknown data set 'cifar'; valid data sets: 'digits'"),
        (["compare", "--depth", "0"], "--depth must be between 1 and 20"),
        (["compare", "--depth", "21"], "--depth must be between 1 and 20"),
        (["compare", "--widths", "0"], "--widths '0': '0' is below 1"),
        (["compare", "--widths", "20000"], "width must be an integer in 1..10000"),
        (["compare", "--widths", "8,8", "--depth", "3"], "gives 2 widths for --depth 3"),
        (["compare", "--widths", "a,b"], "'a' is not a number or a range"),
        (["compare", "--seeds", "0"], "--seeds must be >= 1"),
        (["compare", "--n-jobs", "0"], "--n-jobs must be a positive number"),
        (["study", "depth", "--depths", "0-3"], "'0-3' starts below 1"),
        (["study", "depth", "--depths", "1-25"], "every depth must be in 1..20"),
        # Issue 10.11: a downward range once ran the default depths without a word.
        (["study", "depth", "--depths", "5-1"], "'5-1' runs downwards (did you mean 1-5?)"),
        (["study", "depth", "--depths", "1-"], "'1-' is not a number or a range"),
        (["compare", "--data", "digits", "--download"], "--download is for --data mnist"),
        (["study", "depth", "--width", "20000"], "--width must be in 1..10000"),
        (["study", "depth", "--methods", "xyz"], "valid methods"),
        (["reproduce", "lecun1998"], "valid reproductions: 'erhan2010', 'glorot2010'"),
    ],
)
def test_bad_input_is_one_line(app: typer.Typer, tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke(app, *args, "--out", str(tmp_path / "x"))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x" / "sweep").exists()  # refused before any run


def test_output_folder_of_another_sweep(app: typer.Typer, tmp_path: Path) -> None:
    tiny = ["--depth", "2", "--widths", "4", "--epochs", "1", "--n-train", "100", "--n-test", "50"]
    out = str(tmp_path / "o")
    first = invoke(app, "compare", "--methods", "bp", "--seeds", "1", *tiny, "--out", out)
    assert first.exit_code == 0, first.output
    other = invoke(app, "compare", "--methods", "relu_he", "--seeds", "1", *tiny, "--out", out)
    assert other.exit_code == 1 and "holds the results of a different sweep" in other.output
    assert "--overwrite" in other.output
    forced = invoke(
        app, "compare", "--methods", "relu_he", "--seeds", "1", *tiny, "--out", out, "--overwrite"
    )
    assert forced.exit_code == 0, forced.output


def test_unreachable_scheduler(app: typer.Typer, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    start = time.perf_counter()
    result = invoke(
        app,
        "compare",
        "--quick",
        "--methods",
        "bp",
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--out",
        str(tmp_path / "s"),
    )
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in result.output
    assert time.perf_counter() - start < 30


def test_main_cli_has_the_evidence_commands() -> None:
    from weightwise.cli import app as main_app

    result = invoke_cli("reproduce", "--list", app=main_app)
    assert result.exit_code == 0 and "glorot2010" in result.output
    result = invoke_cli("study", "depth", "--help", app=main_app)
    assert result.exit_code == 0 and "--depths" in result.output
