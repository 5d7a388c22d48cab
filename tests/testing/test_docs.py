"""docs/testing.md: every Python block on the page runs, in order, as written."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_testing_page_examples_run() -> None:
    """The Python blocks of docs/testing.md run top to bottom without error."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    namespace: dict[str, object] = {"__name__": "docs_testing"}

    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{PAGE.name} block {number}", "exec"), namespace)  # noqa: S102

    assert len(blocks) >= 6
