"""Every kind of report, rendered in a real browser (headless Chromium) at 1280 px.

For each report kind (``compare``, ``study depth``, ``reproduce``) built with tiny settings, the
page is opened as a reader would open it, every collapsed section is expanded, and the test asserts:

- the page is no wider than the window (no horizontal scrolling of the page);
- every image loaded (decoded, with a size);
- no element's content overflows its box (tables and code blocks may scroll inside their own
  box, which then is a scroll container and not an overflow).

Chromium is driven by its command line only (``--dump-dom`` after a measuring script, and
``--screenshot``), so the test needs no Python package beyond the standard library. Without a
``chromium`` executable the test is skipped, unless ``WEIGHTWISE_REQUIRE_BROWSER=1`` (CI sets it),
where a missing browser is a failure. With ``WEIGHTWISE_SCREENSHOTS=FOLDER`` it saves a 1280 px
screenshot of each report as ``FOLDER/report_<kind>.png`` (the README's images come from here:
``WEIGHTWISE_SCREENSHOTS=docs/images python -m pytest tests/test_browser.py``).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from headless_chromium import find_chromium, run_chromium  # noqa: E402

WIDTH = 1280
HEIGHT = 900
MAX_SCREENSHOT_HEIGHT = 12000

# Runs after the page (and its data-URI images) loaded: opens every <details>, then writes what it
# measured into the page as JSON, which --dump-dom hands back.
MEASURE = """
<script>
addEventListener("load", () => {
  const W = window.innerWidth, root = document.documentElement;
  const collapsedHeight = root.scrollHeight;
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.className ? "." + String(el.className).replace(/ /g, ".") : "");
  const scrolls = (el) => ["auto", "scroll", "hidden"].includes(getComputedStyle(el).overflowX);
  const overflow = [];
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (style.display === "inline" || style.display === "none") continue;
    if (!scrolls(el) && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      overflow.push(name(el) + " content " + el.scrollWidth + " > box " + el.clientWidth);
    }
    const right = el.getBoundingClientRect().right;
    let clipped = false;
    for (let p = el.parentElement; p; p = p.parentElement) { if (scrolls(p)) { clipped = true; break; } }
    if (!clipped && right > W + 0.5) overflow.push(name(el) + " right edge " + right + " > " + W);
  }
  const images = [...document.images].map((img) => ({
    alt: img.alt, ok: img.complete && img.naturalWidth > 0,
    natural: img.naturalWidth, shown: Math.round(img.getBoundingClientRect().width),
  }));
  const out = document.createElement("pre");
  out.id = "ww-measure";
  out.textContent = JSON.stringify({
    window: W, page_width: root.scrollWidth, height_collapsed: collapsedHeight,
    height_expanded: root.scrollHeight, images: images, overflow: overflow.slice(0, 30),
  });
  document.body.appendChild(out);
});
</script>
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        reason = "no chromium executable on PATH (Debian: apt-get install chromium)"
        if os.environ.get("WEIGHTWISE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WEIGHTWISE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return path


def _run_chromium(chromium: str, *args: str, height: int = HEIGHT) -> str:
    proc = run_chromium(chromium, *args, window=f"{WIDTH},{height}", timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"chromium exited with {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def measure(chromium: str, page: Path) -> dict[str, Any]:
    """Open ``page`` at 1280 px with the measuring script and return what it measured."""
    probe = page.with_name("_browser_probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"))
    try:
        dom = _run_chromium(chromium, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    found = re.search(r'<pre id="ww-measure">(.*?)</pre>', dom, re.S)
    assert found, f"the measuring script did not run; the page dumped was:\n{dom[:2000]}"
    text = found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return dict(json.loads(text.replace("&amp;", "&")))


def screenshot(chromium: str, page: Path, out: Path, height: int) -> Path:
    """A screenshot of ``page`` at 1280 px wide and ``height`` px tall (the whole page)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    height = max(HEIGHT, min(int(height), MAX_SCREENSHOT_HEIGHT))
    _run_chromium(chromium, f"--screenshot={out.resolve()}", page.as_uri(), height=height)
    # 256 colours lose nothing visible on a page of text and plots, and a third of the bytes.
    from PIL import Image

    with Image.open(out) as shot:
        shot.convert("RGB").quantize(256).save(out, optimize=True)
    return out


# --------------------------------------------------------------------------- the reports


def _tiny() -> dict[str, Any]:
    return {
        "data": "digits",
        "n_train": 300,
        "n_test": 200,
        "epochs": 3,
        "pretrain_epochs": 1,
        "info_samples": 60,
        "info_every": 1,
        "grad_samples": 100,
        "progress": False,
    }


def _compare(folder: Path) -> Path:
    from weightwise.evidence.studies import compare

    _, files, _ = compare(folder, seeds=1, hidden=[16] * 5, command="weightwise compare", **_tiny())
    return Path(files.html)


def _depth(folder: Path) -> Path:
    from weightwise.evidence.studies import study_depth

    settings = {**_tiny(), "info_samples": 0}
    _, files, _ = study_depth(
        folder, depths=(1, 3), methods=("bp", "relu_he"), seeds=1, width=16, **settings
    )
    return Path(files.html)


def _reproduce(folder: Path) -> Path:
    from weightwise.evidence.reproductions import reproduce

    settings = {**_tiny(), "info_samples": 0, "hidden": [16] * 5}
    _, files, _ = reproduce("glorot2010", folder, quick=True, **settings)
    return Path(files.html)


KINDS: dict[str, Callable[[Path], Path]] = {
    "compare": _compare,
    "depth": _depth,
    "reproduce": _reproduce,
}


def check_page(measured: dict[str, Any]) -> list[str]:
    """What is wrong with a measured page (an empty list when nothing)."""
    problems = []
    if measured["page_width"] > measured["window"]:
        problems.append(f"page is {measured['page_width']} px wide in a {measured['window']} px window")
    if not measured["images"]:
        problems.append("the page has no image")
    problems += [f"image {i['alt']!r} did not load" for i in measured["images"] if not i["ok"]]
    # Figures are drawn for the report's width: shown at their own size, never shrunk illegible.
    problems += [
        f"image {i['alt']!r} is {i['natural']} px wide but shown at {i['shown']} px"
        for i in measured["images"]
        if i["shown"] < i["natural"] - 1
    ]
    problems += [f"overflow: {o}" for o in measured["overflow"]]
    return problems


@pytest.mark.parametrize("kind", list(KINDS))
def test_report_fits_a_1280px_window(chromium: str, kind: str, tmp_path: Path) -> None:
    page = KINDS[kind](tmp_path / kind)
    measured = measure(chromium, page)
    assert check_page(measured) == [], json.dumps(measured, indent=1)
    folder = os.environ.get("WEIGHTWISE_SCREENSHOTS")
    if folder:
        shot = screenshot(
            chromium, page, Path(folder) / f"report_{kind}.png", measured["height_collapsed"]
        )
        assert shot.stat().st_size > 0
