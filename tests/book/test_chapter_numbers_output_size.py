"""Chapter 5's glued numbers and matrices, every one recomputed here by torch (never tconv).

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
from glued import check_glue, glued, symbolic_conv_matrix
from torch_reference import conv1d_length, conv_transpose1d_length, t

pytestmark = pytest.mark.slow

PAGE = "book/05_output_size"
EXAMPLE_DATA = {"ch5_crop_a": "2 3 -1 1", "ch5_crop_kernel": "1 2 -1 3",
                "ch5_example_a": "2 3", "ch5_example_kernel": "1 2 -1"}
ERRORS = ("ch5_crop_err", "ch5_dil_err")


def text(values) -> str:
    """Numbers the way the chapters print them: ``2 4 -1 0`` (integers without a point)."""
    flat = np.asarray(values, dtype=float).ravel()
    return " ".join(str(int(v)) if v == int(v) else f"{v:g}" for v in flat)


def stamps_math() -> dict[str, str]:
    """The lecture's two stamps, their sum, and the sum cropped by p = 1, output_padding = 1."""
    N = conv_transpose1d_length(2, 3, stride=2)
    placed = symbolic_conv_matrix("kappa_0:3", N, stride=2)
    a = sympy.symbols("a_0:2")
    stamps = sympy.Matrix([list(a_i * placed.row(i)) for i, a_i in enumerate(a)])
    full = sympy.ones(1, 2) * stamps

    def row(label, entries):
        return label + " & " + " & ".join(sympy.latex(e) for e in entries)

    table = [row(r"\text{position}", range(N))]
    table += [row(sympy.latex(a_i) + r"\,\kappa", stamps.row(i)) for i, a_i in enumerate(a)]
    # Which entries torch keeps at p = 1, output_padding = 1: output u is stamp position u + 1.
    n = conv_transpose1d_length(2, 3, stride=2, padding=1, output_padding=1)
    kept = [u + 1 for u in range(n)]
    return {
        "ch5_stamps": r"\begin{array}{r|" + "c" * N + "}" + r" \\ ".join(table)
                      + r" \\ \hline " + row(r"\text{sum}", full) + r"\end{array}",
        "ch5_cropped": sympy.latex(sympy.Matrix([[full[u] for u in kept]])),
    }


def crop_numbers() -> dict[str, object]:
    doubling = {k: [o for o in range(2) if all(conv_transpose1d_length(m, k, 2, 1, o) == 2 * m
                                               for m in range(1, 8))] for k in (3, 4)}
    q_m4 = conv_transpose1d_length(4, 4, stride=2, padding=1)  # question 1: is it 2m?
    past = F.conv_transpose1d(t([2.0, 3.0]), t([1.0, 2.0, -1.0]), stride=2,
                              output_padding=1)[0, 0].numpy()
    return {
        "ch5_full_length": conv_transpose1d_length(2, 3, stride=2),
        "ch5_len_p1": conv_transpose1d_length(2, 3, stride=2, padding=1),
        "ch5_len_p1_o1": conv_transpose1d_length(2, 3, stride=2, padding=1, output_padding=1),
        "ch5_q_m4": q_m4,
        "ch5_q_m4_twice": "exactly" if q_m4 == 2 * 4 else "not",
        "ch5_q_o_k3": ", ".join(map(str, doubling[3])),
        "ch5_q_o_k4": ", ".join(map(str, doubling[4])),
        "ch5_q_past": text(past),
        "ch5_q_past_last": text(past[-1:]),
    }


def doubling_numbers() -> dict[str, object]:
    found = [(k, p, o) for k in range(1, 7) for p in range(3) for o in range(2)
             if all(conv_transpose1d_length(m, k, 2, p, o) == 2 * m
                    for m in range(1, 8))]
    image = F.conv_transpose2d(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 3, 3), stride=2,
                               padding=1, output_padding=1)
    return {
        "ch5_doubling": "; ".join(f"k = {k}, p = {p}, o = {o}" for k, p, o in found),
        "ch5_2d": " × ".join(map(str, image.shape[-2:])),
    }


def floor_numbers() -> dict[str, object]:
    def merged(m, k, s, p):
        return [n for n in range(1, 30) if conv1d_length(n, k, s, p) == m]

    lecture, m3, s3 = merged(2, 3, 2, 1), merged(3, 3, 2, 1), merged(2, 3, 3, 1)
    picks = [next(o for o in range(2) if conv_transpose1d_length(3, 3, 2, 1, o) == n) for n in m3]
    return {
        "ch5_merged": " and ".join(map(str, lecture)),
        "ch5_back_o0": conv_transpose1d_length(2, 3, 2, 1, 0),
        "ch5_back_o1": conv_transpose1d_length(2, 3, 2, 1, 1),
        "ch5_q_merged_m3": " and ".join(map(str, m3)),
        "ch5_q_picks_m3": " and ".join(map(str, picks)),
        "ch5_q_count_s3": len(s3),
        "ch5_q_merged_s3": ", ".join(map(str, s3)),
    }


def dilation_numbers() -> dict[str, object]:
    """s = 1, d = 2, k = 3, m = 4, output_padding = 1: accepted, length 9, conv maps 9 to 5."""
    n = conv_transpose1d_length(4, 3, dilation=2, output_padding=1)
    structural = F.conv_transpose1d(t(np.ones(4)), t(np.ones(3)), dilation=2,
                                    output_padding=1)[0, 0].numpy()
    return {
        "ch5_dil_n": n,
        "ch5_dil_back": conv1d_length(n, 3, dilation=2),
        "ch5_dil_rows": conv1d_length(n, 3, dilation=2),
        "ch5_dil_last": text(structural[-1:]),
    }


@pytest.fixture(scope="module")
def values(built_site) -> dict[str, object]:
    return glued(built_site, PAGE)


@pytest.fixture(scope="module")
def expected() -> dict[str, object]:
    return {**stamps_math(), **crop_numbers(), **doubling_numbers(), **floor_numbers(),
            **dilation_numbers(), **EXAMPLE_DATA}


def test_every_glued_value_is_torchs(values, expected):
    check_glue(values, expected, ERRORS, elsewhere=["ch5_refusal"])


def test_quoted_refusal_is_torchs(values):
    with pytest.raises(RuntimeError) as refusal:
        F.conv_transpose1d(torch.zeros(1, 1, 2), torch.zeros(1, 1, 3), stride=2, padding=1,
                           output_padding=2)
    assert "output padding" in values["ch5_refusal"]
    assert str(refusal.value).startswith(values["ch5_refusal"])


def test_a_glued_answer_is_rendered(built_site, values):
    assert values["ch5_doubling"] in chapter_html(built_site, "05_output_size")
