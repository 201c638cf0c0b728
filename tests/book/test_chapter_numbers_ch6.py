"""Chapter 6's numbers are in its built page (prose and folded answers), recomputed by torch.

Nothing is copied from the chapter and tconv is not used to compute an expected value: the
numbers come from torch's 2D and 3D (transposed) convolutions and layers, in float64.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from book_pages import chapter_html, prose

from tconv import ops

pytestmark = pytest.mark.slow

A = torch.tensor([[1.0, 2.0], [-1.0, 3.0]], dtype=torch.float64)[None, None]
KERNEL = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3)
LECTURE = dict(stride=2, padding=1, output_padding=1)


@pytest.fixture(scope="module")
def raw(built_site) -> str:
    return chapter_html(built_site, "06_two_dimensions")


@pytest.fixture(scope="module")
def page(raw) -> str:
    return prose(raw)


def size(shape) -> str:
    return " × ".join(map(str, shape))


def test_lecture_canvas_centre_and_overlaps(page):
    canvas = F.conv_transpose2d(A, KERNEL, stride=2)[0, 0]
    counts = F.conv_transpose2d(torch.ones_like(A), torch.ones_like(KERNEL), stride=2)[0, 0]
    assert f"{size(canvas.shape)} pixels" in page
    centre = (canvas.shape[0] // 2, canvas.shape[1] // 2)
    assert f"reached by {int(counts[centre])} stamps" in page
    # the four products that meet at the centre, each pixel with a different tap
    terms = [f"({ops.as_text(A[0, 0, i1, i2])})·{ops.as_text(KERNEL[0, 0, 2 - 2 * i1, 2 - 2 * i2])}"
             for i1 in range(2) for i2 in range(2)]
    assert " + ".join(terms) + " = " + ops.as_text(canvas[centre]) in page
    assert ", ".join(ops.as_text(c) for c in torch.unique(counts)) + " stamps" in page


def test_crop_and_output_padding(page):
    padding_only = F.conv_transpose2d(A, KERNEL, stride=2, padding=1)[0, 0]
    lecture = F.conv_transpose2d(A, KERNEL, **LECTURE)[0, 0]
    assert lecture.shape == (4, 4)
    assert f"(2 − 1)·2 − 2·1 + (3 − 1) + 1 + 1 = {lecture.shape[0]}" in page
    assert f"Padding alone leaves {size(padding_only.shape)}" in page
    assert f"the output is {size(lecture.shape)}" in page
    assert f"comes back as {ops.as_text(lecture[-1])}" in page
    assert f"last column as {ops.as_text(lecture[:, -1])}" in page
    merged = [n for n in range(1, 9) if F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, 3, 3),
                                                  stride=2, padding=1).shape[-2:] == (2, 2)]
    assert " and ".join(f"{n} × {n}" for n in merged) in page


def test_matrix_shapes_and_taps_per_column(page):
    for stride in (1, 2):  # both settings of the text have a 4 × 16 W
        padding = stride - 1
        W = torch.autograd.functional.jacobian(
            lambda x, s=stride, p=padding: F.conv2d(x, KERNEL, stride=s, padding=p).flatten(),
            torch.zeros(1, 1, 4, 4, dtype=torch.float64)).reshape(-1, 16)
        assert W.shape == (4, 16)
    assert "W is 4 × 16" in page
    assert f"\\(W^\\top\\) is {size(W.T.shape)}" in page
    taps = (W != 0).sum(dim=1)  # stride 2: row i of W = column i of Wᵀ
    assert f"holds {int(taps[0])} taps" in page and f"holds {int(taps[3])} (the four" in page
    assert f"hold {', '.join(str(int(c)) for c in taps)}" in page


def test_layer_shapes_and_per_axis_formula(page):
    up2d = nn.ConvTranspose2d(16, 8, kernel_size=(3, 4), stride=2, padding=(1, 1),
                              output_padding=(1, 0))
    up3d = nn.ConvTranspose3d(4, 2, kernel_size=3, stride=(1, 2, 2), padding=1,
                              output_padding=(0, 1, 1))
    with torch.no_grad():
        y2d = up2d(torch.zeros(1, 16, 8, 8))
        y3d = up3d(torch.zeros(1, 4, 4, 6, 6))
    for expected in (str(tuple(y2d.shape)), str(tuple(up2d.weight.shape)),
                     str(tuple(y3d.shape))):
        assert expected in page, f"{expected} missing from chapter 6"
    for axis, (k, s, p, o) in enumerate([(3, 2, 1, 1), (4, 2, 1, 0)]):
        assert f"({8} − 1)·{s} − 2·{p} + ({k} − 1) + {o} + 1 = {y2d.shape[2 + axis]}" in page


def test_3d_case(page):
    a3 = torch.ones(1, 1, 2, 2, 2, dtype=torch.float64)
    out = F.conv_transpose3d(a3, torch.ones(1, 1, 3, 3, 3, dtype=torch.float64), **LECTURE)
    assert f"The output is {size(out.shape[2:])}" in page
    assert "8 × 64 matrix" in page and "512 entries" in page
    # W's non-zeros: torch's matrix, one column per unit input
    ones = torch.ones(1, 1, 3, 3, 3, dtype=torch.float64)
    columns = [F.conv_transpose3d(e.reshape(1, 1, 2, 2, 2), ones, **LECTURE)
               for e in torch.eye(8, dtype=torch.float64)]
    nonzeros = int(sum(torch.count_nonzero(c) for c in columns))
    per_axis = round(nonzeros ** (1 / 3))
    assert per_axis**3 == nonzeros
    assert f"{per_axis} × {per_axis} × {per_axis} = {nonzeros}" in page
    canvas_counts = F.conv_transpose3d(a3, ones, stride=2)[0, 0]
    assert f"reached by {int(canvas_counts[2, 2, 2])} stamps, one per input voxel" in page


def _last_nonzero(values: torch.Tensor) -> int:
    return int(torch.nonzero(values).max())


def test_glued_sizes_corners_and_per_axis_counts(page):
    """Glued numbers the tests above do not read: each is recomputed with torch here."""
    canvas = F.conv_transpose2d(A, KERNEL, stride=2)[0, 0]
    assert f"(2 − 1)·2 + 3 = {canvas.shape[0]} on each axis" in page
    # a stamp's corner on the output: its last tap (row k - 1) is where torch's stamp ends
    for name, (i1, i2) in {"a_{00}": (0, 0), "a_{11}": (1, 1)}.items():
        unit = torch.zeros_like(A)
        unit[0, 0, i1, i2] = 1.0
        stamp = F.conv_transpose2d(unit, torch.ones_like(KERNEL), **LECTURE)[0, 0]
        corner = (_last_nonzero(stamp.sum(dim=1)) - 2, _last_nonzero(stamp.sum(dim=0)) - 2)
        assert f"\\({name}\\) has its corner at {corner}" in page, (name, corner)
    # one axis of the 3D case: the 1D matrix of a 3-tap kernel on 4 inputs, stride 2, padding 1
    W1 = torch.autograd.functional.jacobian(
        lambda v: F.conv1d(v, torch.ones(1, 1, 3, dtype=torch.float64), stride=2,
                           padding=1).flatten(), torch.zeros(1, 1, 4, dtype=torch.float64))
    W1 = W1.reshape(-1, 4)
    per_row = (W1 != 0).sum(dim=1)
    assert (f"the {size(W1.shape)} matrix of the 1D convolution has {int(per_row.sum())} taps"
            in page)
    assert f"({' and '.join(str(int(c)) for c in per_row)}, row by row" in page
    ones, a3 = torch.ones(1, 1, 3, 3, 3, dtype=torch.float64), torch.ones(1, 1, 2, 2, 2)
    out = F.conv_transpose3d(a3.double(), ones, **LECTURE)
    assert f"maps its {out[0, 0].numel()} voxels to {a3.numel()}" in page
    canvas3 = F.conv_transpose3d(a3.double(), ones, stride=2)
    assert f"On the uncropped {size(canvas3.shape[2:])} canvas" in page
