"""Draw docs/_static/distributed-data-parallel.png, the figure of docs/distributed.md.

    python docs/distributed_figure.py

One training step with R = 3 ranks: the global batch is cut into 3 shards, each rank runs
forward and backward on its shard with its own copy of the weights, one all-reduce averages the
three gradients, and every rank takes the same optimizer step. Needs matplotlib.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parent / "_static" / "distributed-data-parallel.png"
COLORS = ["#4C72B0", "#DD8452", "#55A868"]


def box(ax, x, y, w, h, text, color="#f2f2f2", edge="#555555", size=9, weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor=edge, linewidth=1.2))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight)


def arrow(ax, start, end, color="#555555"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color, linewidth=1.2))


def main():
    fig, ax = plt.subplots(figsize=(13, 5.2))
    ax.set(xlim=(0, 13), ylim=(0, 5.6))
    ax.axis("off")

    # the global batch, cut into one shard per rank
    ax.text(0.85, 5.3, "global batch\n(b x R samples)", ha="center", va="center", fontsize=9.5, weight="bold")
    for r in range(3):
        box(ax, 0.35, 3.6 - 1.45 * r, 1.0, 1.0, f"shard {r}\n(b samples)", color=COLORS[r] + "55", edge=COLORS[r])

    for r in range(3):
        y = 3.6 - 1.45 * r
        arrow(ax, (1.4, y + 0.5), (1.95, y + 0.5), COLORS[r])
        box(ax, 2.0, y, 3.2, 1.0, f"rank {r}: its own full copy of W\nforward, loss.backward()\n"
            f"g{r} = gradient of the mean loss\non shard {r}", color="white", edge=COLORS[r], size=8.5)
        arrow(ax, (5.3, y + 0.5), (5.95, 2.55), COLORS[r])

    box(ax, 6.0, 1.75, 2.3, 1.6, "all-reduce\n(sum, then / R)\n\ng = (g0 + g1 + g2) / 3\n"
        "= grad of the mean loss\nover all b x R samples", color="#fff3c4", edge="#b08800", size=8.5)
    ax.text(7.15, 1.45, "inside loss.backward(), when the\nlast parameter hook fires: the\n"
            "gradients in a few flat buffers,\none message each",
            ha="center", va="top", fontsize=7.5, style="italic", color="#6b5a00")

    for r in range(3):
        y = 3.6 - 1.45 * r
        arrow(ax, (8.35, 2.55), (8.95, y + 0.5), COLORS[r])
        box(ax, 9.0, y, 2.5, 1.0, f"rank {r}: optimizer.step()\nwith g: W -> W'\n(the same W' on every rank)",
            color="white", edge=COLORS[r], size=8.5)

    ax.text(12.35, 2.55, "identical\nreplicas:\nthe step one\nprocess would\ntake on the\nwhole batch",
            ha="center", va="center", fontsize=8.5)
    ax.text(6.5, 5.3, "One data-parallel training step on R = 3 ranks (mpiexec -n 3)", ha="center",
            fontsize=11.5, weight="bold")
    ax.text(6.5, 0.25, "Cost per step: each rank computes on b samples (not b x R) and sends about "
            "2 (R-1)/R x (gradient bytes) in the all-reduce; memory per rank: a full copy of weights, "
            "gradients and optimizer state.", ha="center", fontsize=8.5, color="#333333")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110, bbox_inches="tight")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
