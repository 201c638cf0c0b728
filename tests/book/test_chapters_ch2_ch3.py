"""Chapters 2 and 3 have what BOOK.md asks of every chapter: learning goals, at least 2
explorers, at least 3 predict-then-check questions each with one folded answer, and a summary.
(What the explorers show is checked against torch by the browser test, through their oracles.)
"""

from __future__ import annotations

import pytest
from page_text import ChapterPage
from site_browser import explorer_names

pytestmark = pytest.mark.slow

PAGES = ("02_transposed_is_transpose", "03_channels_and_groups")


@pytest.mark.parametrize("stem", PAGES)
def test_goals_explorers_questions_with_folded_answers_and_summary(built_site, stem):
    page = ChapterPage.load(built_site, stem)
    assert "In this chapter you will" in page.text
    explorers = set(explorer_names(page.raw))
    assert len(explorers) >= 2, f"explorers: {sorted(explorers)}"
    questions = page.text.count("Predict, then check")
    assert questions >= 3, f"{questions} predict-then-check questions"
    assert len(page.answers) == questions, "every question has one folded answer"
    assert "Summary" in page.text.split("Predict, then check")[-1], "no summary after them"
