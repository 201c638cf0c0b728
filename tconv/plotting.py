"""Static matplotlib figures for the chapters (they need no kernel on the built site).

Each function draws numbers it is given; the numbers themselves come from ``tconv.ops`` or
torch in the chapter, so a figure can never disagree with the code next to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = ["matrices", "vectors", "translated_kernels", "heatmaps"]

HIGHLIGHT = "#d95f02"


def _label(value: float) -> str:
    """Integers without a trailing ``.0``; other values to two decimals."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _ink(value: float, vmax: float) -> str:
    """White text on the dark ends of the colour map, black elsewhere."""
    return "white" if abs(value) > 0.6 * vmax else "black"


def _annotated(ax, M: np.ndarray, title: str, mask=None, rows: int | None = None) -> None:
    """One matrix as a heatmap with every value written in its cell.

    ``rows`` fixes the vertical extent so that panels of different heights share a cell size.
    """
    M = np.atleast_2d(np.asarray(M, dtype=float))
    vmax = max(float(np.max(np.abs(M))) if M.size else 1.0, 1e-9)
    ax.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="equal")
    size = 10 if max(M.shape) <= 8 else 8 if max(M.shape) <= 14 else 6
    shown = np.ones(M.shape, bool) if mask is None else (M != 0) | np.asarray(mask, bool)
    for (i, j), v in np.ndenumerate(M):
        if shown[i, j]:  # blank the zeros off the band so the band stands out
            ax.text(j, i, _label(v), ha="center", va="center", fontsize=size, color=_ink(v, vmax))
    if mask is not None:
        for i, j in zip(*np.nonzero(np.atleast_2d(mask)), strict=True):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.5, ec=HIGHLIGHT))
    ax.set_title(title, fontsize=11)
    ax.set_xticks(range(M.shape[1]))
    ax.set_yticks(range(M.shape[0]))
    ax.tick_params(labelsize=7, length=0)
    ax.set_xticks(np.arange(-0.5, M.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, M.shape[0]), minor=True)
    ax.grid(which="minor", color="#bbbbbb", lw=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_ylim((rows or M.shape[0]) - 0.5, -0.5)
    for side in ax.spines.values():
        side.set_visible(False)


def matrices(panels: Sequence[tuple], height: float = 3.2) -> Figure:
    """Side-by-side annotated matrices; each panel is ``(title, M)`` or ``(title, M, mask)``.

    ``mask`` outlines cells (for example the band a kernel tap lands on). Widths follow the
    matrices' column counts so cells stay square.
    """
    shapes = [np.atleast_2d(p[1]).shape for p in panels]
    rows = max(s[0] for s in shapes)
    widths = [max(s[1], 1) for s in shapes]
    cell = height / max(rows, 1)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(max(sum(widths) * cell + 1.2 * len(panels), 4), height + 0.6),
        gridspec_kw={"width_ratios": widths}, squeeze=False, layout="constrained",
    )
    for ax, panel in zip(axes[0], panels, strict=True):
        title, M, mask = (*panel, None)[:3]
        _annotated(ax, M, title, mask, rows)
    return fig


def vectors(rows: dict[str, Sequence[float]], start: dict[str, int] | None = None) -> Figure:
    """Named vectors drawn as rows of cells, aligned on a common index axis.

    ``start`` shifts a row to the right (an entry ``i`` of that row sits at column
    ``start + i``) so that, for example, a kernel can be drawn where it is applied.
    """
    start = start or {}
    width = max(start.get(name, 0) + len(v) for name, v in rows.items())
    grid = np.full((len(rows), width), np.nan)
    for r, (name, v) in enumerate(rows.items()):
        s = start.get(name, 0)
        grid[r, s : s + len(v)] = v
    finite = grid[np.isfinite(grid)]
    vmax = max(float(np.max(np.abs(finite))) if finite.size else 1.0, 1e-9)
    fig, ax = plt.subplots(figsize=(max(0.5 * width + 2, 4), 0.55 * len(rows) + 0.6),
                           layout="constrained")
    ax.imshow(np.ma.masked_invalid(grid), cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="equal")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, _label(v), ha="center", va="center", fontsize=10, color=_ink(v, vmax))
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=0.5, ec="#888888"))
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set_xticks(range(width))
    ax.tick_params(labelsize=9, length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    return fig


def translated_kernels(contributions: np.ndarray, inputs: Sequence[float], reach) -> Figure:
    """The transposed convolution as stacked, weighted, shifted kernels and their sum.

    Row ``i`` of ``contributions`` is ``inputs[i] * kernel`` placed where input ``i`` writes
    (see ``tconv.ops.translated_kernels``); the last row is the column sums, the output.
    ``reach`` marks the cells each kernel copy covers (zero weights included).
    """
    contributions = np.asarray(contributions, dtype=float)
    band = np.asarray(reach, dtype=bool)
    rows = {f"a[{i}] = {_label(v)}": contributions[i] for i, v in enumerate(inputs)}
    rows["sum = output"] = contributions.sum(axis=0)
    fig = vectors(rows)
    ax = fig.axes[0]
    # Blank the cells no kernel copy reaches, so each copy reads as one shifted block.
    for (i, j), reached in np.ndenumerate(band):
        if not reached:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, color="white", zorder=3))
    ax.axhline(len(inputs) - 0.5, color="black", lw=1.2)
    return fig


def heatmaps(panels: Sequence[tuple[str, np.ndarray]], annotate: bool = False) -> Figure:
    """Images side by side with one colour bar each (for 2D outputs and overlap maps)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False,
                             layout="constrained")
    for ax, (title, image) in zip(axes[0], panels, strict=True):
        image = np.asarray(image, dtype=float)
        shown = ax.imshow(image, cmap="viridis")
        if annotate:
            for (i, j), v in np.ndenumerate(image):
                ax.text(j, i, _label(v), ha="center", va="center", fontsize=8, color="white")
        ax.set_title(title, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(shown, ax=ax, shrink=0.8)
    return fig
