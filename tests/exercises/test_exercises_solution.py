"""The model answers equal torch for all shapes (hypothesis) and on PyTorch's own OpInfo
samples, and the mutants are well formed.

The contract's cases are a fixed list; this states the claim for every shape and argument
torch accepts, so a model answer that only passes the listed cases cannot slip through.
Expected values come from the contract's references, compared with the one tolerance table.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
import torch
from exercises_course import HIDDEN_BEGIN, solution_functions, source_notebooks
from hypothesis import given, settings
from hypothesis import strategies as st
from nbgrader.utils import is_solution

from autograder.assignment import read_source_notebook
from autograder.contract import CELLS, opinfo_samples
from tconv.testing import REFERENCES, TOLERANCES, compare
from testkit.mutants import BUGS, EXPECTED_SCORES, FAILED_CELLS, MAX_SCORE, make_submission

SOLUTION = solution_functions()
small = st.integers


def assert_matches_torch(function: str, *args, **kwargs) -> np.ndarray:
    """The model answer of ``function`` against its reference, within its tolerance."""
    actual = SOLUTION[function](*args, **kwargs)
    problem = compare(actual, REFERENCES[function](*args, **kwargs), TOLERANCES[function])
    assert problem is None, f"{function}{args!r:.200} {kwargs}: {problem}"
    return actual


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
@given(transposed_conv_cases(dims=1), st.booleans())
def test_conv_transpose1d_equals_torch(case, as_1_tuples):
    x, w, bias, kwargs = case
    sizes = {key: kwargs[key] for key in ("stride", "padding", "output_padding", "dilation")}
    if as_1_tuples:  # torch reads (2,) as 2 in 1D: so must the answer
        kwargs = {**kwargs, **{key: (value,) for key, value in sizes.items()}}
    actual = assert_matches_torch("conv_transpose1d", x, w, bias, **kwargs)
    assert_matches_torch("transposed_output_size", x.shape[-1], w.shape[-1], **sizes)
    assert SOLUTION["transposed_output_size"](x.shape[-1], w.shape[-1], **sizes) == (
        actual.shape[-1]
    )


@settings(max_examples=80, deadline=None)
@given(transposed_conv_cases(dims=2))
def test_conv_transpose2d_equals_torch(case):
    x, w, bias, kwargs = case
    assert_matches_torch("conv_transpose2d", x, w, bias, **kwargs)


@settings(max_examples=100, deadline=None)
@given(
    k=small(1, 5), stride=small(1, 3), c_in=small(1, 3), c_out=small(1, 3),
    extra=small(0, 6), batch=st.sampled_from([(), (2,)]), data=st.data(),
)
def test_conv1d_matrix_and_input_grad_equal_torch(k, stride, c_in, c_out, extra, batch, data):
    padding = data.draw(small(0, k - 1))
    n = max(1, k - 2 * padding) + extra
    rng = np.random.default_rng(data.draw(small(0, 2**16)))
    assert_matches_torch("conv1d_matrix", rng.standard_normal(k), n, stride, padding)
    weight = rng.standard_normal((c_out, c_in, k))
    out_length = (n + 2 * padding - k) // stride + 1
    grad_output = rng.standard_normal((*batch, c_out, out_length))
    assert_matches_torch("conv1d_input_grad", grad_output, weight, n, stride, padding)


def opinfo_sample_inputs(function: str):
    """PyTorch's own OpInfo samples for F.<function>, from torch.testing._internal, float64."""
    from torch.testing._internal.common_methods_invocations import op_db

    (op,) = [op for op in op_db if op.name == f"nn.functional.{function}"]
    return list(op.sample_inputs("cpu", torch.float64))


@pytest.mark.parametrize("function", ["conv_transpose1d", "conv_transpose2d"])
def test_model_answers_pass_every_opinfo_sample(function):
    samples = opinfo_sample_inputs(function)
    assert samples
    for sample in samples:
        weight, bias = sample.args
        bias = None if bias is None else bias.numpy()
        assert_matches_torch(function, sample.input.numpy(), weight.numpy(), bias, **sample.kwargs)


@pytest.mark.parametrize("function", ["conv_transpose1d", "conv_transpose2d"])
def test_the_contract_reads_the_opinfo_samples_torch_itself_yields(function):
    """The judge reads the samples' table from torch's source (importing it takes seconds);
    it must be exactly what op.sample_inputs yields, in order."""
    def shape(t):
        return None if t is None else tuple(t.shape)

    yielded = [
        (shape(s.input), shape(s.args[0]), shape(s.args[1]), s.kwargs)
        for s in opinfo_sample_inputs(function)
    ]
    assert list(opinfo_samples(function)) == yielded


def split_cells(nb) -> tuple[list[str], list[str]]:
    """(answer cells, every other cell) of a notebook, as source text."""
    return (
        [c.source for c in nb.cells if is_solution(c)],
        [c.source for c in nb.cells if not is_solution(c)],
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
    """MAX_SCORE and every bug's score are derived from the source notebooks' points."""
    points = sum(read_source_notebook(path).max_score for path in source_notebooks())
    assert MAX_SCORE == EXPECTED_SCORES[None] == points


def test_every_bug_fails_named_graded_cells_and_scores_below_full_marks():
    assert set(EXPECTED_SCORES) == set(FAILED_CELLS) == {None, *BUGS}
    assert all(FAILED_CELLS[bug] and set(FAILED_CELLS[bug]) <= set(CELLS) for bug in BUGS)
    assert all(0 <= EXPECTED_SCORES[bug] < MAX_SCORE for bug in BUGS)
    assert {"kernel_flipped", "stride_ignored", "output_padding_ignored", "only_1d",
            "wraps_torch"} <= set(BUGS)
