"""tconv.as_torch: the one torch-side helper the chapters share."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch
from hypothesis import given
from hypothesis.extra import numpy as hnp

import tconv
from tconv.tensors import as_torch


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                  elements={"allow_nan": False}))
def test_as_torch_is_a_float64_batch_of_one_channel(values):
    tensor = as_torch(values)
    assert tensor.dtype == torch.float64
    assert tuple(tensor.shape) == (1, 1, *values.shape)
    np.testing.assert_array_equal(tensor[0, 0].numpy(), values)


def test_as_torch_copies_takes_lists_and_flipped_views_whatever_the_default_dtype():
    values = np.array([1, 2, 3])
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        flipped = as_torch(values[::-1])
    finally:
        torch.set_default_dtype(previous)
    assert flipped.dtype == torch.float64 and flipped[0, 0].tolist() == [3, 2, 1]
    tensor = as_torch(values)
    tensor[0, 0, 0] = 9
    assert values[0] == 1  # a copy: the chapter's array is never changed through it
    assert as_torch([[1, 2], [3, 4]]).shape == (1, 1, 2, 2)


def test_tconv_as_torch_is_the_helper_and_importing_tconv_ops_needs_no_torch():
    assert tconv.as_torch is as_torch
    check = ("import sys, tconv, tconv.ops, tconv.widgets, tconv.notebook; "
             "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", check], check=True)
