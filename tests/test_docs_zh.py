"""The Chinese documents cannot drift from the English ones they translate.

``docs/tutorial.zh-CN.md`` translates the prose of ``docs/tutorial.md`` only: every fenced block (code,
commands and printed output) is the English block, character for character, in the same order, and the
figures and references are the same. ``README.zh-CN.md`` starts with the English README's two commands.
When the English text changes a block, these tests say which Chinese block to copy it into.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
TUTORIAL_ZH = ROOT / "docs" / "tutorial.zh-CN.md"
README = ROOT / "README.md"
README_ZH = ROOT / "README.zh-CN.md"

OPENING = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
SHELL = {"bash", "sh", "shell", "console"}


def fenced_blocks(path: Path) -> list[tuple[str, str]]:
    """Every fenced block of a Markdown file as (info string, text between the fences), in order."""
    blocks: list[tuple[str, str]] = []
    fence = info = None
    body: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if fence is None:
            match = OPENING.match(line)
            if match:
                fence, info, body = match.group(1), match.group(2).strip(), []
        elif line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
            blocks.append((info, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"{path.name}: a fenced block is never closed"
    return blocks


def images(path: Path) -> list[str]:
    """The targets of the Markdown images, in order."""
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", path.read_text(encoding="utf-8"))


def test_the_tutorial_translation_has_the_english_blocks_in_the_same_order():
    english, chinese = fenced_blocks(TUTORIAL), fenced_blocks(TUTORIAL_ZH)
    assert len(english) >= 10
    assert len(chinese) == len(english), (
        f"docs/tutorial.md has {len(english)} fenced blocks, docs/tutorial.zh-CN.md {len(chinese)}"
    )
    for number, (en, zh) in enumerate(zip(english, chinese, strict=True), start=1):
        assert zh == en, (
            f"fenced block {number} of docs/tutorial.zh-CN.md differs from docs/tutorial.md's: "
            "copy the English block unchanged (only the prose is translated)"
        )


def test_the_tutorial_translation_shows_the_same_figures_and_references():
    assert images(TUTORIAL)
    assert images(TUTORIAL_ZH) == images(TUTORIAL)
    english = TUTORIAL.read_text(encoding="utf-8")
    references = english.split("## References\n", 1)[1].strip()
    assert references in TUTORIAL_ZH.read_text(encoding="utf-8")


def test_the_english_and_chinese_texts_link_to_each_other():
    assert "(tutorial.zh-CN.md)" in TUTORIAL.read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "(tutorial.md)" in TUTORIAL_ZH.read_text(encoding="utf-8")
    readme_zh = README_ZH.read_text(encoding="utf-8")
    assert "(docs/tutorial.zh-CN.md)" in readme_zh
    assert "(README.md)" in readme_zh


@pytest.mark.parametrize("path", [README, README_ZH], ids=["README.md", "README.zh-CN.md"])
def test_the_readme_starts_with_its_two_commands(path):
    first_two = fenced_blocks(path)[:2]
    assert [info for info, _ in first_two] == ["bash", "bash"]
    text = path.read_text(encoding="utf-8")
    assert text.index("```bash") < text.index("\n## "), "the commands come before the first section"


def test_the_chinese_readme_runs_the_english_readmes_commands():
    commands_zh = [body for info, body in fenced_blocks(README_ZH) if info in SHELL]
    first_two = [body for _, body in fenced_blocks(README)[:2]]
    assert commands_zh == first_two, (
        "README.zh-CN.md's shell commands must be README.md's first two commands, unchanged"
    )
