"""Diagnosed mistakes, in this process: every mutant's failed cells name its mistake, on the
judge's own cases and in the students' checks (one table, the same sentences); the correct
answers are never diagnosed; the mistaken outputs are torch's; matching and fingerprints stay
bounded for huge or NaN answers; the feedback escapes and links only the table's sections.

The real grading run (sandbox, feedback pages, class report) is test_autograder_diagnosis.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grading_helpers import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.cases import build_cases, verdict
from autograder.contract import CELLS
from autograder.mistakes import (
    MAX_FINGERPRINT_VALUES,
    MISTAKES,
    SECTIONS,
    answers_fingerprint,
    default_book_url,
    diagnose,
    hints_html,
)
from tconv import mistakes as known
from tconv.testing import CheckFailed, checker
from testkit.mutants import (
    BUGS,
    EXPECTED_MISTAKES,
    FAILED_CELLS,
    expected_mistake,
    make_submission,
)

SOURCE = REPO / "solutions" / "transposed_conv" / "transposed_conv.ipynb"
CASES = build_cases(list(CELLS))

# Mutants whose failed cells raise instead of answering: there is nothing to compare. (The
# wrapping ones call torch, which the sandbox lacks; in this process they are simply right.)
NOT_ANSWERING = {"only_1d", "wraps_torch", "wraps_torch_prebound"}
DIAGNOSED = sorted(EXPECTED_MISTAKES)


def answers(bug: str | None) -> dict:
    """The submission's answer cells, run in one namespace (our own mutants, nothing else)."""
    namespace: dict = {"np": np}  # the notebook's setup cell imports it
    for cell in make_submission(SOURCE, bug).cells:
        if cell.cell_type == "code" and (cell.metadata.get("nbgrader") or {}).get("solution"):
            exec(compile(cell.source, f"{bug}", "exec"), namespace)
    return namespace


def judged(bug: str | None) -> dict[str, tuple[list, bool]]:
    """grade_id -> (the failed cases with their answers, whether a call raised), as the judge
    sees them, for the cells that fail."""
    functions, failed = answers(bug), {}
    for grade_id, cases in CASES.items():
        wrong, raised = [], False
        for case in cases:
            try:
                answer = np.asarray(functions[case.function](*case.args, **case.kwargs))
            except Exception:  # noqa: BLE001 - a mutant that raises fails the cell
                raised = True
                break
            if verdict(case, answer):
                wrong.append((case, answer))
        if wrong or raised:
            failed[grade_id] = (wrong, raised)
    return failed


def test_every_mutant_is_in_the_table_or_answers_nothing():
    assert set(EXPECTED_MISTAKES) | NOT_ANSWERING == set(BUGS)
    assert not set(EXPECTED_MISTAKES) & NOT_ANSWERING


@pytest.mark.parametrize("bug", DIAGNOSED)
def test_each_mutant_is_diagnosed_on_all_its_failed_cases(bug):
    failed = judged(bug)
    assert failed, "the mutant fails no cell"
    assert set(failed) == set(FAILED_CELLS[bug])  # the cells the mutants' table names
    for grade_id, (wrong, raised) in failed.items():
        if raised and not wrong:  # some mutants raise on OpInfo's odder samples: no answer
            assert grade_id == "conv_transpose1d_general", grade_id
            continue
        diagnosis = diagnose(wrong)
        mistakes = {h["name"]: h for h in diagnosis["hints"] if h["kind"] == "mistake"}
        name = expected_mistake(bug, grade_id)
        assert name in mistakes, (grade_id, diagnosis)
        assert mistakes[name]["matched"] == mistakes[name]["failed"] == len(wrong)
        assert diagnosis["fingerprint"] is None  # explained: not an unknown group
        assert f"on {len(wrong)} of {len(wrong)} failed case" in mistakes[name]["text"]


def test_the_correct_answers_fail_nothing_so_nothing_is_diagnosed():
    assert judged(None) == {}


def test_a_mutant_that_raises_gets_no_diagnosis():
    failed = judged("only_1d")
    assert set(failed) == {"conv_transpose2d_basic", "conv_transpose2d_general"}
    assert all(raised and not wrong for wrong, raised in failed.values())
    assert diagnose([]) is None


@pytest.mark.parametrize("bug", DIAGNOSED)
def test_the_students_checks_give_the_same_hint(bug):
    """The notebook's check, on a failed case, names the mistake with the table's sentence."""
    functions = answers(bug)
    for grade_id, (wrong, _) in judged(bug).items():
        case, _ = wrong[0]
        check = checker(case.function, functions[case.function])
        with pytest.raises(CheckFailed) as failure:
            check(*case.args, **case.kwargs)
        mistake = next(
            m for m in MISTAKES[case.function] if m.name == expected_mistake(bug, grade_id)
        )
        assert f"\nHint: {mistake.sentence()}" in str(failure.value), grade_id


def test_a_wrong_shape_gets_the_formula_its_length_follows():
    """A conv_transpose1d that crops the padding once: no known mistake, but its lengths follow
    (m − 1)s − p + d(k − 1) + o + 1 on every failed case, and the hint says so."""

    right = answers(None)["conv_transpose1d"]

    def crops_once(input, weight, bias=None, stride=1, padding=0, **options):
        return right(input, weight, bias, stride, 0, **options)[..., padding:]

    wrong = []
    for case in CASES["conv_transpose1d_padding"]:
        answer = crops_once(*case.args, **case.kwargs)
        assert verdict(case, answer)
        wrong.append((case, answer))
    diagnosis = diagnose(wrong)
    assert [h["kind"] for h in diagnosis["hints"]] == ["length"]
    assert diagnosis["hints"][0]["name"] == "length: padding_once"
    assert "(m − 1)s − p + d(k − 1) + o + 1 on all 5 cases" in diagnosis["hints"][0]["text"]
    assert diagnosis["fingerprint"]  # not explained by a known mistake
    with pytest.raises(CheckFailed, match=r"Hint: your output's length follows \(m − 1\)s − p"):
        checker("conv_transpose1d", crops_once)([[[2, 3, 0, -1]]], [[[1, 2, -1]]], padding=1)


def _plus_one(case) -> np.ndarray:
    """An unknown mistake: torch's answer plus 1 everywhere."""
    return case.expected + 1.0


def test_unknown_mistakes_shared_by_students_share_a_fingerprint():
    cases = CASES["conv_transpose1d_stride2"]
    one = [(c, _plus_one(c)) for c in cases]
    # The same mistake, summed in another order: equal to within float noise.
    other = [(c, a + 1e-13 * np.sign(a)) for c, a in one]
    third = [(c, a * 1.001) for c, a in one]  # another mistake
    assert diagnose(one)["hints"] == []
    assert answers_fingerprint(one) == answers_fingerprint(other) == diagnose(other)["fingerprint"]
    assert answers_fingerprint(third) != answers_fingerprint(one)
    # The failed cases take part: the same answers to other cases differ.
    assert answers_fingerprint(one[:3]) != answers_fingerprint(one)


def test_huge_and_nan_answers_cost_little_and_match_nothing():
    case = CASES["conv_transpose1d_stride2"][0]
    huge = np.zeros(MAX_FINGERPRINT_VALUES + 1)
    nan = np.full(case.expected.shape, np.nan)
    for answer in (huge, nan):
        diagnosis = diagnose([(case, answer)])
        assert not [h for h in diagnosis["hints"] if h["kind"] == "mistake"]
        assert re.fullmatch(r"[0-9a-f]{12}", diagnosis["fingerprint"])
    assert answers_fingerprint([(case, nan)]) == answers_fingerprint([(case, nan.copy())])
    # A huge answer is fingerprinted by its shape alone: its values are never read.
    assert answers_fingerprint([(case, huge)]) == answers_fingerprint([(case, huge + 1)])


@st.composite
def transposed_arguments(draw, dims: int):
    groups = draw(st.integers(1, 3))
    c_in, out_per_group = groups * draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 4)) for _ in range(dims)]
    stride = [draw(st.integers(1, 3)) for _ in range(dims)]
    dilation = [draw(st.integers(1, 3)) for _ in range(dims)]
    padding = [draw(st.integers(0, k - 1)) for k in kernel]
    output_padding = [
        draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)
    ]
    size = [draw(st.integers(k, 6)) for k in kernel]
    batch = draw(st.sampled_from([(), (2,)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    pick = (lambda v: v[0]) if dims == 1 else tuple
    return dict(
        input=rng.standard_normal((*batch, c_in, *size)),
        weight=rng.standard_normal((c_in, out_per_group, *kernel)),
        bias=rng.standard_normal(groups * out_per_group) if draw(st.booleans()) else None,
        stride=pick(stride),
        padding=pick(padding),
        output_padding=pick(output_padding),
        groups=groups,
        dilation=pick(dilation),
    )


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([1, 2]).flatmap(transposed_arguments), st.data())
def test_the_mistakes_algorithm_is_torchs_where_no_argument_is_changed(arguments, data):
    """Every conv_transpose mistake is the same algorithm with one argument changed: unchanged,
    it equals F.conv_transpose1d/2d for every argument torch accepts."""
    dims = arguments["weight"].ndim - 2
    t = {k: torch.from_numpy(v) for k, v in arguments.items() if isinstance(v, np.ndarray)}
    options = {k: arguments[k] for k in ("stride", "padding", "output_padding", "groups")}
    reference = (F.conv_transpose1d, F.conv_transpose2d)[dims - 1](
        t["input"], t["weight"], t.get("bias"), dilation=arguments["dilation"], **options
    )
    ours = known._transposed(arguments, dims)
    np.testing.assert_allclose(ours, reference.numpy(), rtol=1e-7, atol=1e-9)
    assert ours.shape == tuple(reference.shape)


def test_every_mistake_differs_from_the_right_answer_on_some_judge_case():
    """A mistake that equals torch on every case of its function could never be named."""
    for function, mistakes in MISTAKES.items():
        cases = [c for cs in CASES.values() for c in cs if c.function == function]
        for mistake in mistakes:
            outputs = [(c, mistake.mistaken(c.args, c.kwargs)) for c in cases]
            assert any(
                m is not None and verdict(c, np.asarray(m)) for c, m in outputs
            ), f"{function}: {mistake.name}"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [v for k, v in attrs if tag == "a" and k == "href"]

    def handle_data(self, data):
        self.text.append(data)


def test_feedback_escapes_every_sentence_and_links_only_known_sections():
    cell = {
        "diagnosis": {
            "hints": [
                {"text": "<script>x</script>", "doc": "02_transposed_is_transpose",
                 "anchor": "at-stride-1-it-is-a-convolution-with-the-kernel-flipped"},
                {"text": "forged", "doc": "../../etc", "anchor": "'><script>"},
            ]
        }
    }
    html = hints_html(cell, "https://course.example.org/book/'x/")
    assert "<script" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    links = _Links()
    links.feed(html)
    assert links.hrefs == [
        "https://course.example.org/book/'x/book/02_transposed_is_transpose.html"
        "#at-stride-1-it-is-a-convolution-with-the-kernel-flipped"
    ]
    assert hints_html({"diagnosis": None}, "") == hints_html({}, "") == ""


def test_the_default_link_is_the_relative_path_to_the_courses_built_book(tmp_path):
    course, page = tmp_path / "course", tmp_path / "out" / "feedback" / "alice"
    url = default_book_url(course, page)
    assert url == "../../../course/_build/html/"
    target = (page / url / "book" / "05_output_size.html").resolve()
    assert target == (course / "_build" / "html" / "book" / "05_output_size.html").resolve()


@pytest.mark.slow
def test_every_linked_section_exists_in_the_built_site(built_site: Path):
    """Each section a hint links to is a heading of the built page, with that id, and its
    title's words are the heading's."""
    for (doc, anchor), section in SECTIONS.items():
        page = (built_site / "book" / f"{doc}.html").read_text("utf-8")
        found = re.search(rf'<section id="{re.escape(anchor)}">\s*<h\d>(.*?)</h\d>', page, re.S)
        assert found, f"{doc}.html has no section {anchor!r}"
        heading = re.sub(r"<[^>]*>", " ", found.group(1)).lower()
        title = set(re.findall(r"[a-z0-9]{3,}", section.title.lower()))
        assert title <= set(re.findall(r"[a-z0-9]{3,}", heading)), (section.title, heading)


def test_the_release_can_import_the_table_without_the_grader():
    """tconv.mistakes (shipped to students) imports nothing of autograder."""
    text = Path(known.__file__).read_text("utf-8")
    assert "autograder" not in re.sub(r'""".*?"""|#.*', "", text, flags=re.S)
