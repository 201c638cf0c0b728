"""The model answers equal torch for all shapes (hypothesis), and the mutants are well formed.

The hidden tests sweep fixed seeds; this states the claim for every shape and argument torch
accepts, so a model answer that only passes the sweeps cannot slip through.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from exercises_course import HIDDEN_BEGIN, solution_functions, source_notebooks
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.assignment import read_source_notebook
from autograder.mutants import BUGS, EXPECTED_SCORES, MAX_SCORE, make_submission

SOLUTION = solution_functions()
TOLERANCE = {"rtol": 1e-7, "atol": 1e-9}
small = st.integers


def tensor(a):
    return torch.from_numpy(np.asarray(a, dtype=float))


@st.composite
def transposed_conv_cases(draw, dims: int):
    """Arguments torch accepts for conv_transpose{dims}d, with random float64 arrays."""
    groups = draw(small(1, 3))
    c_in, out_per_group = groups * draw(small(1, 2)), draw(small(1, 3))
    kernel = [draw(small(1, 4)) for _ in range(dims)]
    stride = [draw(small(1, 3)) for _ in range(dims)]
    dilation = [draw(small(1, 3)) for _ in range(dims)]
    padding = [draw(small(0, k - 1)) for k in kernel]
    output_padding = [draw(small(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)]
    size = [draw(small(k, 6)) for k in kernel]
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    seed = draw(small(0, 2**16))
    rng = np.random.default_rng(seed)
    as_arg = (lambda v: v[0]) if dims == 1 else tuple
    return (
        rng.standard_normal((*batch, c_in, *size)),
        rng.standard_normal((c_in, out_per_group, *kernel)),
        rng.standard_normal(groups * out_per_group) if draw(st.booleans()) else None,
        {
            "stride": as_arg(stride),
            "padding": as_arg(padding),
            "output_padding": as_arg(output_padding),
            "groups": groups,
            "dilation": as_arg(dilation),
        },
    )


@settings(max_examples=150, deadline=None)
@given(transposed_conv_cases(dims=1))
def test_conv_transpose1d_equals_torch(case):
    x, w, bias, kwargs = case
    expected = F.conv_transpose1d(tensor(x), tensor(w), None if bias is None else tensor(bias),
                                  **kwargs).numpy()
    actual = SOLUTION["conv_transpose1d"](x, w, bias, **kwargs)
    np.testing.assert_allclose(actual, expected, **TOLERANCE)
    assert actual.shape == expected.shape
    assert SOLUTION["transposed_output_size"](
        x.shape[-1], w.shape[-1], kwargs["stride"], kwargs["padding"], kwargs["output_padding"],
        kwargs["dilation"],
    ) == expected.shape[-1]


@settings(max_examples=80, deadline=None)
@given(transposed_conv_cases(dims=2))
def test_conv_transpose2d_equals_torch(case):
    x, w, bias, kwargs = case
    expected = F.conv_transpose2d(tensor(x), tensor(w), None if bias is None else tensor(bias),
                                  **kwargs).numpy()
    actual = SOLUTION["conv_transpose2d"](x, w, bias, **kwargs)
    np.testing.assert_allclose(actual, expected, **TOLERANCE)
    assert actual.shape == expected.shape


@settings(max_examples=100, deadline=None)
@given(
    k=small(1, 5), stride=small(1, 3), c_in=small(1, 3), c_out=small(1, 3),
    extra=small(0, 6), batch=st.sampled_from([(), (2,)]), data=st.data(),
)
def test_conv1d_matrix_and_input_grad_equal_torch(k, stride, c_in, c_out, extra, batch, data):
    padding = data.draw(small(0, k - 1))
    n = max(1, k - 2 * padding) + extra
    rng = np.random.default_rng(data.draw(small(0, 2**16)))
    kernel, x = rng.standard_normal(k), rng.standard_normal(n)
    conv = F.conv1d(tensor(x)[None, None], tensor(kernel)[None, None], stride=stride,
                    padding=padding)[0, 0].numpy()
    W = SOLUTION["conv1d_matrix"](kernel, n, stride, padding)
    np.testing.assert_allclose(W @ x, conv, **TOLERANCE)

    weight = rng.standard_normal((c_out, c_in, k))
    inputs = tensor(rng.standard_normal((*batch, c_in, n))).requires_grad_()
    out = F.conv1d(inputs, tensor(weight), stride=stride, padding=padding)
    grad_output = rng.standard_normal(tuple(out.shape))
    out.backward(tensor(grad_output))
    actual = SOLUTION["conv1d_input_grad"](grad_output, weight, n, stride, padding)
    np.testing.assert_allclose(actual, inputs.grad.numpy(), **TOLERANCE)
    assert actual.shape == tuple(inputs.shape)


def split_cells(nb) -> tuple[list[str], list[str]]:
    """(answer cells, every other cell) of a notebook, as source text."""
    def is_answer(cell):
        return bool(cell.metadata.get("nbgrader", {}).get("solution"))

    return (
        [c.source for c in nb.cells if is_answer(c)],
        [c.source for c in nb.cells if not is_answer(c)],
    )


@pytest.mark.parametrize("bug", [None, *BUGS])
def test_submissions_look_like_a_students(bug):
    source = source_notebooks()[0]
    submission = make_submission(source, bug)
    nbformat.validate(submission)
    text = nbformat.writes(submission)
    assert "BEGIN SOLUTION" not in text and HIDDEN_BEGIN not in text
    assert all(not c.get("outputs") for c in submission.cells if c.cell_type == "code")
    answers, rest = split_cells(submission)
    correct_answers, correct_rest = split_cells(make_submission(source, None))
    assert rest == correct_rest  # a bug edits answers only
    assert (answers != correct_answers) == (bug is not None)


def test_full_marks_are_what_the_source_notebooks_graded_cells_are_worth():
    """MAX_SCORE, and the score of a correct submission, come from the mutants' table; the
    points come from the source notebooks' nbgrader metadata: they must agree."""
    points = sum(read_source_notebook(path).max_score for path in source_notebooks())
    assert MAX_SCORE == EXPECTED_SCORES[None] == points


def test_every_bug_has_an_expected_score_below_full_marks():
    assert set(EXPECTED_SCORES) == {None, *BUGS}
    assert all(0 <= EXPECTED_SCORES[bug] < MAX_SCORE for bug in BUGS)
    assert {"kernel_flipped", "stride_ignored", "output_padding_ignored", "only_1d",
            "wraps_torch"} <= set(BUGS)
