"""What chapter 8's explorers must show, computed here with torch in float64 (never with tconv).

One ``Oracle`` per explorer of ``book/08_upsampling.md``: a few slider settings, and for each the
numbers a keyed block must show. Each ``expected`` takes every slider of its explorer as a
keyword (a slider not in a setting keeps its opening value, the default here). The fixed data
the explorers use (kernels, inputs, the sizes chosen so that interiors hold whole periods) are
rebuilt here from the rules the chapter states, not imported from it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from explorer_oracle import Oracle

DTYPE = torch.float64


def tensor(values) -> torch.Tensor:
    """A (1, 1, ...) float64 tensor, the shape torch's conv functions want."""
    return torch.as_tensor(np.asarray(values, dtype=float), dtype=DTYPE)[None, None]


def ones(*shape) -> torch.Tensor:
    return torch.ones((1, 1, *shape), dtype=DTYPE)


def image(t: torch.Tensor) -> np.ndarray:
    return t[0, 0].numpy()


def two_periods(k: int, s: int) -> int:
    """The input size the chapter uses so that the interior holds two periods."""
    return -(-(k - 1) // s) + 3


def number(value: float) -> str:
    """A number as the captions print it: integers without a decimal point."""
    value = round(float(value), 6)
    return str(int(value)) if value == int(value) else f"{value:g}"


def listed(values) -> str:
    return ", ".join(number(v) for v in values)


def phase_sums(kernel: torch.Tensor, s: int) -> np.ndarray:
    """kernel[i::s, j::s].sum() for every phase (i, j), or kernel[i::s].sum() in 1D."""
    if kernel.ndim == 1:
        return np.array([float(kernel[i::s].sum()) for i in range(s)])
    return np.array([[float(kernel[i::s, j::s].sum()) for j in range(s)] for i in range(s)])


# --- ch08-checkerboard ------------------------------------------------------------------------


def checkerboard(k=3, s=2):
    n = two_periods(k, s)
    transposed = F.conv_transpose2d(ones(n, n), ones(k, k), stride=s)
    nearest = F.interpolate(ones(n, n), scale_factor=s, mode="nearest")
    line = F.interpolate(ones(n), scale_factor=s, mode="nearest")
    inside = slice(k - 1, (n - 1) * s + 1)  # outputs every input reaches
    interior = np.unique(image(transposed)[inside, inside])
    verdict = "uneven: a checkerboard" if interior.size > 1 else "even: no checkerboard"
    taps = [torch.ones(k)[phase::s].numel() for phase in range(s)]
    return {"caption": f"have {listed(taps)} taps. Transposed conv interior counts "
                       f"{{{listed(interior)}}}, {verdict}",
            "transposed": image(transposed),
            "resize": image(F.conv2d(nearest, ones(k, k), padding=k - 1)),
            "profiles": {"transposed conv": image(F.conv_transpose1d(ones(n), ones(k), stride=s)),
                         "resize-conv": image(F.conv1d(line, ones(k), padding=k - 1))}}


# --- ch08-stacked-layers ----------------------------------------------------------------------

WINDOW = 16


def stack(x: torch.Tensor, k: int, layers: int) -> torch.Tensor:
    conv_t = F.conv_transpose1d if x.ndim == 3 else F.conv_transpose2d
    for _ in range(layers):
        x = conv_t(x, torch.ones((1, 1) + (k,) * (x.ndim - 2), dtype=DTYPE), stride=2)
    return x


def stacked_layers(layers=1, k=3):
    combined = stack(ones(1), k, layers)[0, 0]  # the impulse response is the one kernel
    taps, stride = combined.numel(), 2**layers
    n = 2
    while (n - 1) * stride - taps + 2 < WINDOW:  # the interior holds a WINDOW-long stretch
        n += 1
    start = taps - 1 + ((n - 1) * stride - taps + 2 - WINDOW) // 2
    out = image(stack(ones(n, n), k, layers))
    profile = image(stack(ones(n), k, layers))
    interior = profile[taps - 1 : (n - 1) * stride + 1]
    contrast = (f"brightest / darkest = {number(interior.max() / interior.min())} in 1D, "
                f"{number((interior.max() / interior.min()) ** 2)} in 2D"
                if interior.min() > 0 else "some outputs get nothing at all")
    return {"phase_sums": phase_sums(combined, stride),
            "profile": profile,
            "window": out[start : start + WINDOW, start : start + WINDOW],
            "caption": f"one transposed convolution with stride {stride} and a {taps}-tap kernel. "
                       f"Input {n}: the interior repeats every {stride} outputs with the values "
                       f"{{{listed(np.unique(interior))}}}; {contrast}."}


# --- ch08-gradient-checkerboard ---------------------------------------------------------------


def input_grad(kernel: np.ndarray, s: int, p: int) -> np.ndarray:
    x = torch.zeros(1, 1, 8, 8, dtype=DTYPE, requires_grad=True)
    F.conv2d(x, tensor(kernel), stride=s, padding=p).sum().backward()
    return x.grad[0, 0].numpy()


def gradient_checkerboard(k=3, s=2, p=1):
    kernel = np.random.default_rng(k).integers(-1, 4, size=(k, k))
    m = F.conv2d(ones(8, 8), ones(k, k), stride=s, padding=p).shape[-1]
    lost = 8 - F.conv_transpose2d(ones(m, m), ones(k, k), stride=s, padding=p).shape[-1]
    return {"caption": f"8×8 → {m}×{m}. ℓ = Σ y, so g = ∂ℓ/∂y is all ones and ∂ℓ/∂x = "
                       f"conv_transpose2d(g, κ, stride={s}, padding={p}, output_padding={lost})",
            "grad_ones": input_grad(np.ones((k, k)), s, p),
            "grad_kernel": input_grad(kernel, s, p),
            "kernel": kernel,
            "phase_sums": phase_sums(torch.as_tensor(kernel, dtype=DTYPE), s)}


# --- ch08-resize-identity ---------------------------------------------------------------------

AMMI_INPUT = [2.0, 3.0, 0.0, -1.0]


def resize_conv(a, kernel, p) -> torch.Tensor:
    return F.conv1d(F.interpolate(tensor(a), scale_factor=2, mode="nearest"), tensor(kernel),
                    padding=p)


def resize_identity(k0=1, k1=2, k2=-1, p=1):
    kernel = [k0, k1, k2]
    out = image(resize_conv(AMMI_INPUT, kernel, p))
    g = F.conv_transpose1d(tensor(kernel[::-1]), ones(2))  # full convolution with [1, 1]
    columns = [image(resize_conv(e, kernel, p)) for e in np.eye(len(AMMI_INPUT))]
    return {"a": np.array(AMMI_INPUT),
            "nearest": np.repeat(AMMI_INPUT, 2),
            "resize_conv": out,
            "g": image(g),
            "transposed": out,  # the identity: the transposed convolution shows the same
            "matrix": np.stack(columns, axis=1),
            "caption": f"padding 3 − 1 − p = {3 - 1 - p}. Phase sums κ̂₀ + κ̂₂ = "
                       f"{number(g[0, 0, 0::2].sum())}, κ̂₁ + κ̂₃ = {number(g[0, 0, 1::2].sum())}, "
                       f"both Σκ = {sum(kernel)}",
            "difference": "Largest |difference|: 0.0e+00"}  # integers: exactly equal


# --- ch08-bilinear-init -----------------------------------------------------------------------

POOLING_EXAMPLE = [[1, 6, 2, 0], [3, 4, 1, 8], [0, 5, 7, 2], [9, 1, 3, 4]]


def bilinear_init(s=2, drift=0):
    k = 2 * s - s % 2
    taps = 1 - (torch.arange(k, dtype=DTYPE) - (k - 1) / 2).abs() / s
    direction = np.random.default_rng(s).normal(size=(k, k))
    kernel = torch.outer(taps, taps) + 0.05 * drift * torch.as_tensor(direction, dtype=DTYPE)

    def upsample(x):
        return image(F.conv_transpose2d(x, kernel[None, None], stride=s, padding=s // 2))

    sums = phase_sums(kernel, s)
    verdict = ("all 1: flat inside" if np.allclose(sums, 1)
               else f"spread {np.ptp(sums):.3f}: a checkerboard")
    return {"caption": f"stride {s}, padding {s // 2}, ε = {0.05 * drift:.2f}. "
                       f"Phase sums {verdict}",
            "kernel": kernel.numpy(),
            "phase_sums": sums,
            "constant": upsample(ones(4, 4)),
            "upsampled": upsample(tensor(POOLING_EXAMPLE)),
            "interpolate": image(F.interpolate(tensor(POOLING_EXAMPLE), scale_factor=s,
                                               mode="bilinear", align_corners=False))}


# --- ch08-pixel-shuffle -----------------------------------------------------------------------

LECTURE_INPUT = [[1, 2], [-1, 3]]


def shuffle_kernel(k: int) -> torch.Tensor:
    if k == 3:
        return torch.tensor([[1, 0, -1], [2, 1, 0], [0, 1, 1]], dtype=DTYPE)
    return torch.as_tensor(np.random.default_rng(10 + k).integers(-2, 3, size=(k, k)),
                           dtype=DTYPE)


def pixel_shuffle(k=3, s=2, icnr=0):
    kernel = shuffle_kernel(k)
    taps = -(-k // s)
    padded = torch.zeros(s * taps, s * taps, dtype=DTYPE)
    padded[:k, :k] = kernel
    if icnr:  # every phase gets phase (0, 0)'s kernel
        kernel = padded = torch.kron(padded[0::s, 0::s], torch.ones(s, s, dtype=DTYPE))
    grouped = padded.reshape(taps, s, taps, s).permute(1, 0, 3, 2).reshape(s * taps, s * taps)
    n = two_periods(kernel.shape[0], s)
    return {"kernel": kernel.numpy(),
            "phases": grouped.numpy(),
            "phase_sums": phase_sums(kernel, s),
            "shuffled": image(F.conv_transpose2d(tensor(LECTURE_INPUT), kernel[None, None],
                                                 stride=s)),
            "constant": image(F.conv_transpose2d(ones(n, n), kernel[None, None], stride=s)),
            "caption": "from F.conv_transpose2d: 0.0e+00"}  # integers: exactly equal


ORACLES = [
    Oracle(name="ch08-checkerboard",
           settings=[{}, {"k": 4}, {"k": 1, "s": 3}, {"k": 7, "s": 4}],
           expected=checkerboard),
    Oracle(name="ch08-stacked-layers",
           settings=[{}, {"layers": 2}, {"layers": 3, "k": 4}, {"layers": 4, "k": 6}],
           expected=stacked_layers),
    Oracle(name="ch08-gradient-checkerboard",
           settings=[{}, {"p": 0}, {"k": 5, "s": 3, "p": 2}, {"k": 1}],
           expected=gradient_checkerboard),
    Oracle(name="ch08-resize-identity",
           settings=[{}, {"p": 0}, {"k0": -1, "k1": 0, "k2": 1, "p": 2}, {"k1": 0}],
           expected=resize_identity),
    Oracle(name="ch08-bilinear-init",
           settings=[{}, {"s": 3}, {"s": 4, "drift": 3}, {"s": 1, "drift": 2}],
           expected=bilinear_init),
    Oracle(name="ch08-pixel-shuffle",
           settings=[{}, {"k": 5, "s": 3}, {"k": 4, "icnr": 1}, {"k": 6, "s": 1}],
           expected=pixel_shuffle),
]
