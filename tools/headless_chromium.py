"""Headless Chromium from its command line: the one way this repo's tests and tools start it.

Used by ``tests/test_browser.py`` (the reports in a real browser) and
``tools/tensorboard_screenshot.py`` (the README's TensorBoard picture).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling out, and a closed network refuses every call.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(
    chromium: str, *args: str, window: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``chromium`` headless with a fresh profile and ``args`` at ``window`` ("W,H").

    Chromium puts its singleton socket under ``$TMPDIR`` and a Unix socket's path may not exceed
    107 bytes, so it runs with a short temporary folder (``/tmp``) whatever the caller's is.
    """
    short = "/tmp" if os.path.isdir("/tmp") else None
    env = dict(os.environ) if short is None else {**os.environ, "TMPDIR": short}
    with tempfile.TemporaryDirectory(dir=short) as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={window}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env)
