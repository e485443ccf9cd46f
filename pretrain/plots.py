"""Plots of stage 1 (matplotlib, Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pretrain.utils import atomic_path  # noqa: E402


def plot_kept_fractions(curves: dict[str, list[float]], path: str, title: str = "") -> Path:
    """Kept fraction per epoch, one step line per arm, the cost in the legend."""
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=120)
    for name, fractions in curves.items():
        epochs = range(1, len(fractions) + 1)
        cost = sum(fractions) / len(fractions) if fractions else 0.0
        ax.step(epochs, fractions, where="mid", label=f"{name} (cost {100 * cost:.1f}%)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("kept fraction")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
