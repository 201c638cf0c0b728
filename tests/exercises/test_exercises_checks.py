"""tconv.testing, the checks behind every test cell: verdicts, messages, and blocking torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from exercises_course import solution_functions

from autograder.cases import cell_cases, verdict
from autograder.contract import CELLS
from tconv.testing import TOLERANCES, CheckFailed, TorchBlocked, checker, compare, torch_blocked

SOLUTION = solution_functions()
LECTURE_INPUT, LECTURE_KERNEL = [[[2, 3, 0, -1]]], [[[1, 2, -1]]]  # gives [2, 7, 4, -4, -2, 1]


def off_by(index, amount):
    """A conv_transpose1d that is right except at ``index``."""

    def answer(*args, **kwargs):
        out = SOLUTION["conv_transpose1d"](*args, **kwargs)
        out[index] += amount
        return out

    return answer


def test_correct_answer_passes():
    checker("conv_transpose1d", SOLUTION["conv_transpose1d"])(LECTURE_INPUT, LECTURE_KERNEL)


def test_wrong_shape_names_case_and_both_shapes():
    check = checker("conv_transpose1d", lambda input, weight, **kw: np.asarray(input))
    with pytest.raises(CheckFailed) as failure:
        check(LECTURE_INPUT, LECTURE_KERNEL, stride=2)
    message = str(failure.value)
    assert message.startswith("conv_transpose1d(array(1, 1, 4), array(1, 1, 3), stride=2)")
    assert "expected shape (1, 1, 9), got shape (1, 1, 4)" in message


def test_wrong_value_reports_largest_difference_and_where():
    with pytest.raises(CheckFailed) as failure:
        checker("conv_transpose1d", off_by((0, 0, 2), 0.5))(LECTURE_INPUT, LECTURE_KERNEL)
    message = str(failure.value)
    assert "1 of 6 values differ; largest difference 0.5 at index (0, 0, 2)" in message
    assert "(expected 4, got 4.5)" in message


def test_tolerances_are_tight_and_explicit():
    expected = np.array([1.0, -2.0, 1e-12])
    assert compare(expected * (1 + 5e-8), expected) is None
    assert compare(expected + [0, 0, 2e-9], expected) is not None
    assert compare(expected * (1 + 1e-6), expected) is not None
    assert compare([1.0, np.nan, 1e-12], expected) is not None  # NaN never passes


def test_unusable_return_values_fail_politely():
    for returned in (None, "text", [[1, 2], [3]]):
        assert compare(returned, np.zeros(3)) is not None
    size = checker("transposed_output_size", lambda *a, **k: 6.0)
    with pytest.raises(CheckFailed, match="expected the int 6, got float 6.0"):
        size(4, 3)
    checker("transposed_output_size", lambda *a, **k: np.int64(6))(4, 3)


def test_a_size_is_judged_the_same_in_the_notebook_and_by_the_grader():
    """The judge receives a size as a 0-d array from the sandbox; the one comparison takes it
    as the int it is, and refuses a float there just as the notebook's check does."""
    assert compare(np.array(6), 6, TOLERANCES["transposed_output_size"]) is None
    assert compare(np.int64(6), np.array(6), TOLERANCES["transposed_output_size"]) is None
    for wrong in (np.array(6.0), 6.0, True, np.array([6]), "6"):
        assert "expected the int 6" in compare(wrong, 6, TOLERANCES["transposed_output_size"])
    assert compare(7, 6, TOLERANCES["transposed_output_size"]) == "expected 6, got 7"


def test_the_judge_verdict_is_the_public_comparison_on_one_line():
    cell = CELLS["conv_transpose1d_stride2"]
    (case, *_) = cell_cases(cell)
    wrong = case.expected.copy()
    wrong[..., 0] += 0.5
    problem = verdict(case, wrong)
    assert problem.startswith(f"{case.label}: ")
    assert problem.removeprefix(f"{case.label}: ") == compare(
        wrong, case.expected, cell.tolerance, show_arrays=False
    )
    assert "\n" not in problem and "largest difference 0.5" in problem
    assert verdict(case, case.expected.copy()) is None


def test_an_exception_shows_only_the_students_frames():
    def conv_transpose1d(input, weight, **kwargs):
        raise ValueError("not yet")

    with pytest.raises(CheckFailed) as failure:
        checker("conv_transpose1d", conv_transpose1d)(LECTURE_INPUT, LECTURE_KERNEL)  # THIS LINE
    assert "raised ValueError: not yet" in str(failure.value)
    shown = "".join(failure.value._render_traceback_())
    assert 'raise ValueError("not yet")' in shown
    assert "THIS LINE" not in shown and "testing.py" not in shown


def test_an_interrupt_inside_an_answer_is_a_failed_check():
    """nbgrader's cell timeout interrupts the kernel: it must not escape as a plain traceback."""

    def conv_transpose1d(input, weight, **kwargs):
        raise KeyboardInterrupt

    with pytest.raises(CheckFailed, match="raised KeyboardInterrupt"):
        checker("conv_transpose1d", conv_transpose1d)(LECTURE_INPUT, LECTURE_KERNEL)


TORCH_ROUTES = {
    "F.conv_transpose1d": lambda x, w: F.conv_transpose1d(x, w),
    "saved reference": (lambda saved: lambda x, w: saved(x, w))(F.conv_transpose1d),
    "torch.conv1d": lambda x, w: torch.conv1d(x, w),
    "torch.ops.aten": lambda x, w: torch.ops.aten.convolution(
        x, w, None, [1], [0], [1], True, [0], 1
    ),
    "nn.ConvTranspose1d": lambda x, w: torch.nn.ConvTranspose1d(1, 1, 3, bias=False).double()(x),
    "F.fold (col2im)": lambda x, w: F.fold(x.reshape(1, 1, 4).expand(1, 3, 4), (1, 6), (1, 3)),
    "Tensor.backward": lambda x, w: (x.requires_grad_() * 2).sum().backward(),
    "autograd.grad": lambda x, w: torch.autograd.grad((x.requires_grad_() * 2).sum(), x),
}


@pytest.mark.parametrize("route", TORCH_ROUTES)
def test_torch_is_blocked_by_every_route_and_only_inside_the_block(route):
    x, w = torch.ones(1, 1, 4, dtype=torch.float64), torch.ones(1, 1, 3, dtype=torch.float64)
    with torch_blocked(), pytest.raises(TorchBlocked):
        TORCH_ROUTES[route](x, w)
    TORCH_ROUTES[route](x.detach().clone(), w)  # and works again afterwards


def test_other_torch_operations_still_work_inside_the_block():
    with torch_blocked():
        a = torch.arange(6.0).reshape(2, 3)
        assert float((a @ a.T).sum()) == 83.0  # 5 + 14 + 14 + 50


def test_verdicts_ignore_rebound_numpy_and_torch(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    monkeypatch.setattr(np, "abs", lambda a: np.zeros_like(a))
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    monkeypatch.setattr(F, "conv_transpose1d", off_by((0, 0, 2), 0.5))
    with pytest.raises(CheckFailed):
        checker("conv_transpose1d", off_by((0, 0, 2), 0.5))(LECTURE_INPUT, LECTURE_KERNEL)
    checker("conv_transpose1d", SOLUTION["conv_transpose1d"])(LECTURE_INPUT, LECTURE_KERNEL)


def test_an_answer_writing_into_its_inputs_changes_nothing():
    def vandal(input, weight, **kwargs):
        input[...] = 0
        weight[...] = 0
        return SOLUTION["conv_transpose1d"](input, weight, **kwargs)

    x = np.array(LECTURE_INPUT, dtype=float)
    with pytest.raises(CheckFailed):
        checker("conv_transpose1d", vandal)(x, LECTURE_KERNEL)
    assert x.tolist() == LECTURE_INPUT


def test_the_course_helpers_earn_nothing_even_imported_before_the_check():
    """tconv.ops computes single-channel conv_transpose1d: an answer that calls it must fail."""
    from tconv.ops import conv_matrix, conv_transpose1d  # bound before any check runs

    def via_helper(input, weight, stride=1, padding=0, output_padding=0, **kwargs):
        x, w = np.asarray(input), np.asarray(weight)
        return conv_transpose1d(x[0, 0], w[0, 0], stride, padding, output_padding)[None, None]

    with pytest.raises(CheckFailed, match=r"tconv\.ops\) are blocked"):
        checker("conv_transpose1d", via_helper)(LECTURE_INPUT, LECTURE_KERNEL, stride=2)
    def matrix_via_helper(weight, n, stride=1, padding=0):
        return conv_matrix(weight, n, stride, padding)

    with pytest.raises(CheckFailed, match=r"tconv\.ops\) are blocked"):
        checker("conv1d_matrix", matrix_via_helper)([1, 2, 0, -1], 10)
    expected = F.conv_transpose1d(torch.tensor(LECTURE_INPUT, dtype=torch.float64),
                                  torch.tensor(LECTURE_KERNEL, dtype=torch.float64), stride=2)
    assert np.allclose(via_helper(LECTURE_INPUT, LECTURE_KERNEL, stride=2), expected.numpy())


def conv_transpose1d(input, weight, **kwargs):  # a global the name-only checker must find
    return SOLUTION["conv_transpose1d"](input, weight, **kwargs)


def test_checker_by_name_checks_the_callers_global():
    checker("conv_transpose1d")(LECTURE_INPUT, LECTURE_KERNEL)


def test_checker_by_name_of_a_missing_function_is_a_check_failure_without_source():
    with pytest.raises(CheckFailed) as failure:
        checker("conv_transpose2d")
    assert "conv_transpose2d is not defined" in str(failure.value)
    assert failure.value._render_traceback_() == [f"\x1b[0;31mCheckFailed\x1b[0m: {failure.value}"]


class TorchOnDemand:
    """An answer's return value that would only compute with torch when read as an array."""

    def __init__(self, input, weight):
        self.input, self.weight = input, weight

    def __array__(self, dtype=None, copy=None):
        x, w = torch.as_tensor(self.input), torch.as_tensor(self.weight)
        return F.conv_transpose1d(x, w).numpy()


def test_a_result_that_computes_with_torch_when_read_is_read_while_torch_is_blocked():
    with pytest.raises(CheckFailed, match="not an array of numbers"):
        checker("conv_transpose1d", TorchOnDemand)(LECTURE_INPUT, LECTURE_KERNEL)
