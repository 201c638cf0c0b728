"""A cell that raises fails the book build, on the first build and on the cached rebuild.

The book's real _config.yml is copied into a scratch book with one small chapter. The
chapter first builds cleanly (so the build itself is sound and its cache is warm); then a
failing cell is added and the build must fail twice in a row, the second time with the
failure already recorded in the execution cache.
"""

from __future__ import annotations

import pytest
from scratch_book import MYST_NOTEBOOK_HEADER, build, make_book

pytestmark = pytest.mark.slow

FAILURE = "InjectedFailureForTheBuildTest"

CHAPTER = MYST_NOTEBOOK_HEADER + """# A chapter

```{code-cell} ipython3
answer = 6 * 7
answer
```
"""

FAILING_CELL = f"""
```{{code-cell}} ipython3
raise RuntimeError("{FAILURE}")
```
"""


def test_failing_cell_fails_the_build_even_when_cached(tmp_path):
    book = make_book(tmp_path / "book", {"chapter": CHAPTER}, intro="One chapter follows.")
    clean = build(book)
    assert clean.returncode == 0, f"control build failed:\n{(clean.stdout + clean.stderr)[-3000:]}"

    with (book / "chapter.md").open("a") as chapter:
        chapter.write(FAILING_CELL)
    for attempt in ("first build", "cached rebuild"):
        result = build(book)
        log = result.stdout + result.stderr
        assert result.returncode != 0, f"{attempt} passed despite a failing cell:\n{log[-3000:]}"
        assert FAILURE in log, f"{attempt} failed, but not because of the cell:\n{log[-3000:]}"
    assert (book / "_build" / ".jupyter_cache").is_dir(), "the builds did not use the cache"
