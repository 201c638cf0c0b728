"""The built site has the five chapters, and each shows the lectures' worked numbers.

The expected numbers are computed here with torch (float64), never copied from a chapter, and
looked for in the *prose and outputs* of the right page: widget tables and other scripts are
stripped first, so a number that only survives inside a slider's precomputed table does not
count. Each chapter's own test file (test_chapter_numbers_*.py) checks more of its numbers.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from book_pages import chapter_html, visible_text

from tconv import ops

pytestmark = pytest.mark.slow

CHAPTERS = {
    1: "01_conv_as_matrix",
    2: "02_transposed_is_transpose",
    3: "04_stride_two",
    4: "07_backward_pass",
    5: "08_upsampling",
}


def t(values) -> torch.Tensor:
    """A (1, 1, L) float64 tensor."""
    return torch.tensor(values, dtype=torch.float64)[None, None]


def raw_page(site, number: int) -> str:
    return chapter_html(site, CHAPTERS[number])


@pytest.fixture(scope="module")
def pages(built_site) -> dict[int, str]:
    return {n: visible_text(raw_page(built_site, n)) for n in CHAPTERS}


def test_index_links_every_chapter(built_site):
    index = (built_site / "book" / "index.html").read_text(encoding="utf-8")
    for name in CHAPTERS.values():
        assert (built_site / "book" / f"{name}.html").is_file(), f"{name} was not built"
        assert f'href="{name}.html"' in index, f"the intro page does not link {name}"
    exercise_links = re.findall(r'href="(\.\./exercises/[^"#]+\.html)"', index)
    assert exercise_links, "the intro page does not link the exercises"
    for link in exercise_links:
        assert (built_site / "book" / link).resolve().is_file(), f"broken exercise link {link}"


def test_chapter1_fleuret_convolution(pages):
    x, kernel = [1.0, 4.0, -1.0, 0.0, 2.0, -2.0, 1.0, 3.0, 3.0, 1.0], [1.0, 2.0, 0.0, -1.0]
    y = F.conv1d(t(x), t(kernel))[0, 0]
    page = pages[1]
    assert ops.as_text(y) in page
    assert ops.as_text(x) in page and ops.as_text(kernel) in page
    assert f"{y.numel()} × {len(x)}" in page, "W's shape"
    assert f"{y.numel()} × {len(kernel)}" in page, "X's shape"


def test_chapter1_lecture_symbolic_example_is_rendered(built_site):
    """The lecture's k=3, p=1 products (a y + b z, ...) are typeset by MathJax from sympy."""
    raw = raw_page(built_site, 1)
    for product in ("a y + b z", "b x + c y + d z", "c x + d y"):
        assert product in raw, product


def test_chapter2_transposed_examples(pages):
    page = pages[2]
    assert ops.as_text(F.conv_transpose1d(t([2.0, 3.0, 0.0, -1.0]), t([1.0, 2.0, -1.0]))) in page
    impulse, k = t([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]), t([1.0, 2.0, 3.0])
    assert ops.as_text(F.conv1d(impulse, k)) in page
    assert ops.as_text(F.conv_transpose1d(impulse, k)) in page
    m = nn.ConvTranspose1d(1, 1, kernel_size=3).double()
    with torch.no_grad():
        m.bias.zero_()
        m.weight.copy_(torch.tensor([1.0, 2.0, -1.0]))
        assert ops.as_text(m(t([2.0, 3.0, 0.0, -1.0]))) in page


def test_chapter4_mentions_autograd_and_the_adjoint_test(pages):
    assert "autograd" in pages[4]
    assert "adjoint" in pages[4].lower()


def test_chapter5_decoder_shapes(pages):
    """A stride-2, k=4, p=1 transposed convolution doubles 4×4 three times to 32×32."""
    size, path = 4, []
    while size < 32:
        size = ops.transposed_output_size(size, 4, 2, 1)
        path.append(f"{size}×{size}")
    assert " → ".join(["4×4", *path]) in pages[5]
    assert "checkerboard" in pages[5].lower()
