"""Every chapter has what BOOK.md asks of each one, and every difference from torch it prints is
rounding error.

Parametrised over the chapters _toc.yml lists (``testkit.site.chapter_pages``), so a new
chapter is checked without editing this file. Chapter-specific numbers are checked by each
chapter's own test_chapter_numbers_*.py; what the explorers show, by the browser test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from book_pages import chapter_html, prose
from explorer_oracle import oracles_by_module

from testkit.site import chapter_pages, explorer_names

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = [Path(page).stem for page in chapter_pages(REPO)]
ROUNDING = 1e-12  # float64 differences from torch, at any size the book computes

QUESTION = "Predict, then check"
# A folded answer: sphinx-design's ```{dropdown}``` or an admonition with :class: dropdown.
FOLDED_ANSWER = re.compile(r'<details class="[^"]*\bsd-dropdown\b|class="dropdown admonition"')
CODE_FIGURE = re.compile(r'<img[^>]+src="[^"]+\.png"')
# The source of a code cell as the site shows it; its outputs stay (they print differences).
CODE_INPUT = re.compile(
    r'<div class="highlight-ipython3 notranslate"><div class="highlight"><pre>.*?</pre>', re.S)
SCIENTIFIC = re.compile(r"(?<![\w.])−?[0-9.]+e[-+][0-9]+")
# What a number in scientific notation is, by the last of these words before it in its
# sentence: a difference between two computations ("largest difference", "agree to", "differ
# by at most", "recovers x to", "max |a - b| ="), or a size the page chose, not a difference
# (chapter 7's perturbations of the adjoint test, its tolerance and the gaps it measures).
DIFFERENCE_WORDS = r"difference|differs?|agrees?|match(?:es)?|recovers|\|"
CHOSEN_WORDS = r"relative gap|epsilon|ε|tolerance"
LAST_WORD = re.compile(rf"({DIFFERENCE_WORDS}|{CHOSEN_WORDS})(?!.*(?:{DIFFERENCE_WORDS}|"
                       rf"{CHOSEN_WORDS}))", re.S)
SENTENCE_START = re.compile(r".*(?:\. |\n)", re.S)


@pytest.fixture(scope="module", params=CHAPTERS)
def chapter(request, built_site) -> tuple[str, str, str]:
    """(stem, raw HTML, prose) of one chapter."""
    raw = chapter_html(built_site, request.param)
    return request.param, raw, prose(raw)


def test_learning_goals_questions_with_folded_answers_and_a_summary(chapter):
    _, raw, text = chapter
    assert "In this chapter you will" in text, "no learning goals"
    questions = text.count(QUESTION)
    answers = len(FOLDED_ANSWER.findall(raw))
    assert answers >= 3, f"{answers} folded answers; every chapter has at least 3 questions"
    assert answers >= questions, f"{questions} questions but {answers} folded answers"
    assert 'id="summary"' in raw, "no summary"
    assert raw.rfind(QUESTION) < raw.find('id="summary"'), "the summary is not at the end"


def test_explorers_are_the_ones_its_oracles_check(chapter):
    stem, raw, _ = chapter
    on_page = explorer_names(raw)
    assert len(on_page) >= 2, f"explorers: {on_page}"
    checked = {oracle.name for oracle in oracles_by_module().get(stem, ())}
    assert set(on_page) == checked, (
        f"on the page but without an oracle: {sorted(set(on_page) - checked)}; "
        f"an oracle but not on the page: {sorted(checked - set(on_page))}")


def test_math_a_code_figure_and_no_failed_or_colab_cell(chapter):
    _, raw, text = chapter
    assert "\\(" in raw or "\\[" in raw or "math notranslate" in raw, "no math"
    assert CODE_FIGURE.search(raw), "no code-generated figure"
    assert "Traceback" not in text, "a cell failed"
    assert "google.colab" not in text, "the Colab-only cell shows on the site"


def test_the_book_notation_for_sizes(chapter):
    _, raw, text = chapter
    assert "H × W" not in text and "H \\times W" not in raw, "W is the matrix, not a width"


def printed_differences(text: str) -> list[float]:
    """Every number in scientific notation that ``text`` prints as a difference; a number in
    scientific notation that is neither a difference nor a size the page chose fails."""
    differences = []
    for number in SCIENTIFIC.finditer(text):
        before = text[max(0, number.start() - 100):number.start()]
        sentence = SENTENCE_START.sub("", before)
        word = LAST_WORD.search(sentence)
        assert word, f"a number that is not said to be a difference: ...{before[-60:]}{number[0]}"
        if re.fullmatch(DIFFERENCE_WORDS, word[1]):
            differences.append(float(number[0].replace("−", "-")))
    return differences


def test_every_printed_difference_is_rounding(chapter):
    _, raw, _ = chapter
    differences = printed_differences(prose(CODE_INPUT.sub(" ", raw)))
    assert differences, "the chapter prints no difference from torch"
    assert all(abs(d) < ROUNDING for d in differences), differences


@pytest.mark.parametrize("text, expected", [
    ("Over 711 settings the largest difference is 8.9e-16: float64 rounding.", [8.9e-16]),
    ("max |W^T a - F.conv_transpose1d| = 0.0e+00 and they agree to 1.8e-15 and 3.6e-15.",
     [0.0, 1.8e-15, 3.6e-15]),
    ("caught for ε = 1e-03, 1e-09, below the tolerance 1e-12. They differ by 2.0e-03.",
     [2e-3]),
])
def test_printed_differences_are_read_as_the_page_says_them(text, expected):
    assert printed_differences(text) == expected


def test_a_number_said_to_be_nothing_fails():
    with pytest.raises(AssertionError, match="not said to be a difference"):
        printed_differences("The step is 1.0e-03.")
