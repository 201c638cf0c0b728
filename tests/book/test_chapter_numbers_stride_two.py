"""Chapter 4's glued numbers and matrices, every one recomputed here by torch (never tconv).

``test_every_glued_value_is_torchs`` fails when the chapter glues a value this file does not
check, so a new number in the prose needs a torch check to land.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F
from book_pages import chapter_html
from glued import check_glue, glued, latex_product, symbolic_conv_matrix
from torch_reference import (
    conv1d_length,
    conv1d_matrix,
    conv_transpose1d_length,
    conv_transpose1d_matrix,
    t,
)

pytestmark = pytest.mark.slow

PAGE = "book/04_stride_two"
# The lecture's example: kernel size 3, stride 2, padding 1, an input of length 4.
K, S, P = 3, 2, 1
ERRORS = ("ch4_lecture_err", "ch4_polyphase_err", "ch4_sweep_err")  # printed differences
# Example data the explorers use; the prose names them, the oracles recompute with them.
EXAMPLE_DATA = {"ch4_slide_a": "2 3 -1", "ch4_slide_m": 3, "ch4_slide_kernel": "1 2 -1 3",
                "ch4_tap_kernel": "1 2 3 4"}


def pretty(entry) -> str:
    return sympy.pretty(entry, use_unicode=True)


def lecture_math() -> dict[str, str]:
    x = sympy.Matrix(sympy.symbols("x_0:4"))
    a = sympy.Matrix(sympy.symbols("a_0:2"))
    padded = symbolic_conv_matrix("kappa_0:3", 6, stride=S)
    W = symbolic_conv_matrix("kappa_0:3", 4, stride=S, padding=P)
    # T S = W^T: T is the stride-1 convolution with the flipped kernel over the 6 entries of
    # the zero-inserted, padded input; S puts a_i at k - 1 - p + i s.
    T = symbolic_conv_matrix("kappa_2 kappa_1 kappa_0", 6)
    S_matrix = sympy.zeros(6, 2)
    for i in range(2):
        S_matrix[K - 1 - P + i * S, i] = 1
    assert T * S_matrix == W.T
    return {
        "ch4_lecture_padded": latex_product(padded, sympy.Matrix([0, *x, 0])),
        "ch4_lecture_transpose": latex_product(padded.T, a),
        "ch4_lecture_W": "W x = " + latex_product(W, x),
        "ch4_lecture_Wt": r"W^\top a = " + latex_product(W.T, a),
        "ch4_TS": r"T\,S = " + sympy.latex(T) + sympy.latex(S_matrix) + "="
                  + sympy.latex(T * S_matrix) + r"= W^\top",
    }


def lecture_numbers() -> dict[str, object]:
    W = symbolic_conv_matrix("kappa_0:3", 4, stride=S, padding=P)
    rows = [tuple(W.T.row(u)) for u in range(4)]
    # The zero-inserted, padded input of the lecture's transposed convolution, checked to be
    # what a stride-1 convolution with the flipped kernel must read to give conv_transpose1d.
    a_sym = sympy.symbols("a_0:2")
    a_tilde = [0] * 6
    for i, a_i in enumerate(a_sym):
        a_tilde[K - 1 - P + i * S] = a_i
    rng = np.random.default_rng(0)
    a_num, kernel = rng.normal(size=2), rng.normal(size=3)
    numeric = [float(e.subs(dict(zip(a_sym, a_num, strict=True)))) if e != 0 else 0.0
               for e in a_tilde]
    via_conv = F.conv1d(t(numeric), t(kernel[::-1].copy()))
    torch.testing.assert_close(via_conv, F.conv_transpose1d(t(a_num), t(kernel), stride=S,
                                                             padding=P, output_padding=1))
    W_numeric = conv1d_matrix(np.ones(K), 4, stride=S, padding=P)
    # Column i: the kernel copy unit input i writes (no padding: nothing cropped).
    stamps = conv_transpose1d_matrix(np.ones(K), W_numeric.shape[0], stride=S)
    return {
        "ch4_lecture_m": conv1d_length(4, K, S, P),
        "ch4_lecture_overlap": int(stamps.all(axis=1).sum()),
        "ch4_W_shape": " × ".join(map(str, W_numeric.shape)),
        "ch4_Wt_shape": " × ".join(map(str, W_numeric.T.shape)),
        "ch4_lecture_n": conv_transpose1d_length(2, K, S, P, 1),
        "ch4_Wt_rows": ", ".join("(" + ", ".join(map(pretty, row)) + ")" for row in rows),
        "ch4_Wt_taps": ", ".join(str(sum(e != 0 for e in row)) for row in rows),
        "ch4_S_rows": conv_transpose1d_length(2, K, S, P, 1) + K - 1,
        "ch4_a_tilde": "(" + ", ".join(pretty(e) for e in a_tilde) + ")",
    }


def sub_kernel_numbers() -> dict[str, object]:
    """Question 1 (equal sub-kernels at stride 2) and 2 (all-zero rows at s = 3, k = 2)."""
    sizes = range(1, 7)
    equal = []
    for k in sizes:
        Wt = conv_transpose1d_matrix(np.arange(1.0, k + 1), 8, stride=2)
        interior = (Wt[k:-k] != 0).sum(axis=1)
        if len(set(interior)) == 1:
            equal.append(k)
    n, k, s = 8, 2, 3
    m = conv1d_matrix(np.ones(k), n, stride=s).shape[0]
    output_padding = next(o for o in range(s) if conv_transpose1d_length(m, k, s, 0, o) == n)
    Wt = conv_transpose1d_matrix(np.ones(k), m, stride=s, output_padding=output_padding)
    zero_rows = np.flatnonzero(~Wt.any(axis=1))
    return {
        "ch4_equal_sub_k": ", ".join(map(str, equal)),
        "ch4_equal_sub_kmax": sizes[-1],
        "ch4_zero_rows": ", ".join(map(str, zero_rows)),
        "ch4_zero_rows_of": f"{Wt.shape[0]} × {Wt.shape[1]}",
        "ch4_zero_sub": ", ".join(str(c) for c in sorted({int(u) % s for u in zero_rows})),
        "ch4_zero_taps": " and ".join(map(str, range(k))),
    }


def zero_insertion_numbers() -> dict[str, object]:
    """Questions 3 and 4, and the count of products with a zero."""
    m, k, s, p = 3, 3, 3, 1
    n = conv_transpose1d_length(m, k, s, p)
    inserted = (m - 1) * (s - 1)
    Wt = conv_transpose1d_matrix(np.ones(3), 3, stride=2, padding=1, output_padding=1)
    reads = (Wt != 0).sum(axis=1)
    return {
        "ch4_q_len": n + k - 1,  # a valid stride-1 convolution of length L gives L - k + 1
        "ch4_q_m": m,
        "ch4_q_inserted": inserted,
        "ch4_q_padded": n + k - 1 - m - inserted,
        "ch4_q_out": n,
        "ch4_q_reads": ", ".join(map(str, reads)),
        "ch4_q_us": ", ".join(map(str, range(Wt.shape[0]))),
        "ch4_q_last_u": Wt.shape[0] - 1,
        "ch4_all_products": Wt.shape[0] * 3,
        "ch4_zero_products": Wt.shape[0] * 3 - int(reads.sum()),
    }


def sweep_count() -> int:
    """The settings of the chapter's sweep that torch accepts."""
    return sum(conv_transpose1d_length(m, k, s, p, o) is not None
               for m in range(1, 8) for k in range(1, 6) for s in range(1, 4)
               for p in range(3) for o in range(s))


@pytest.fixture(scope="module")
def values(built_site) -> dict[str, object]:
    return {name: v for name, v in glued(built_site, PAGE).items() if name.startswith("ch4_")}


@pytest.fixture(scope="module")
def expected() -> dict[str, object]:
    return {**lecture_math(), **lecture_numbers(), **sub_kernel_numbers(),
            **zero_insertion_numbers(), "ch4_sweep_count": sweep_count(), **EXAMPLE_DATA}


def test_every_glued_value_is_torchs(values, expected):
    check_glue(values, expected, ERRORS)


def test_a_glued_answer_is_rendered(built_site, values):
    assert values["ch4_q_reads"] in chapter_html(built_site, "04_stride_two")

