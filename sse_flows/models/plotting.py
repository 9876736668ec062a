"""Figures of a :class:`~sse_flows.models.schemas.ModelEvaluationDoc` (matplotlib, Agg).

The report stage reuses these functions; each writes one PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sse_flows.models.schemas import ModelEvaluationDoc

SCHEME_LABELS = {
    "random": "random 80/20",
    "cluster": "composition clusters",
    "family": "leave family out",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy_distributions(doc: ModelEvaluationDoc, path: str | Path) -> Path:
    """Box plots of the per-split test accuracy, random vs composition-cluster splits."""
    plt = _pyplot()
    keys = doc.algorithms
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 * len(keys) + 2), 4.2))
    width = 0.38
    colours = {"random": "#4C72B0", "cluster": "#DD8452"}
    handles = []
    for offset, scheme in ((-width / 2, "random"), (width / 2, "cluster")):
        data = [doc.accuracies.get(k, {}).get(scheme, []) for k in keys]
        if not any(data):
            continue
        positions = [i + offset for i, d in enumerate(data) if d]
        box = ax.boxplot(
            [d for d in data if d],
            positions=positions,
            widths=width * 0.9,
            patch_artist=True,
            showfliers=True,
            flierprops={"markersize": 3},
        )
        for patch in box["boxes"]:
            patch.set_facecolor(colours[scheme])
            patch.set_alpha(0.75)
        handles.append((box["boxes"][0], SCHEME_LABELS[scheme]))
    ax.axhline(doc.majority_rate, color="grey", ls="--", lw=1)
    ax.text(len(keys) - 0.5, doc.majority_rate + 0.005, "majority class", ha="right",
            va="bottom", fontsize=8, color="grey")  # fmt: skip
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys)
    ax.set_ylabel("test accuracy")
    lowest = min(
        (min(a) for k in keys for a in doc.accuracies.get(k, {}).values() if a), default=0.3
    )
    ax.set_ylim(max(0.0, min(0.3, lowest - 0.03)), 1.0)
    ax.set_title(f"Accuracy over splits (n = {doc.n_samples} materials)")
    if handles:
        ax.legend([h for h, _ in handles], [label for _, label in handles], loc="lower right")
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion_matrices(
    doc: ModelEvaluationDoc,
    path: str | Path,
    algorithms: list[str] | None = None,
    scheme: str = "random",
) -> Path:
    """Confusion matrices summed over the splits of ``scheme``, one panel per algorithm."""
    plt = _pyplot()
    keys = [
        k for k in (algorithms or doc.algorithms) if scheme in doc.confusion_matrices.get(k, {})
    ]
    n = max(len(keys), 1)
    cols = min(n, 5)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.4 * rows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, key in zip(axes.ravel(), keys, strict=False):
        matrix = np.asarray(doc.confusion_matrices[key][scheme], dtype=float)
        share = matrix / matrix.sum(axis=1, keepdims=True)
        ax.axis("on")
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{share[i, j]:.2f}\n({int(matrix[i, j])})", ha="center",
                        va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")  # fmt: skip
        ax.set_xticks([0, 1], ["not", "super"])
        ax.set_yticks([0, 1], ["not", "super"])
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
    fig.suptitle(f"Confusion matrices, {SCHEME_LABELS.get(scheme, scheme)} (row-normalised)")
    fig.tight_layout()
    return _save(fig, path)


def plot_importances(
    doc: ModelEvaluationDoc,
    path: str | Path,
    algorithms: tuple[str, ...] = ("gb", "lgbm"),
    top: int = 15,
) -> Path:
    """Top features by importance averaged over the random-split models (GB impurity,
    LightGBM split counts), with the standard deviation over the models as error bars."""
    plt = _pyplot()
    keys = [k for k in algorithms if k in doc.importances]
    n_panels = max(len(keys), 1)
    fig, axes = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 0.3 * top + 1.2), squeeze=False)
    for ax, key in zip(axes.ravel(), keys, strict=False):
        mean = np.asarray(doc.importances[key])
        std = np.asarray(doc.importances_std.get(key, np.zeros_like(mean)))
        order = np.argsort(mean)[::-1][:top][::-1]
        names = [_short(doc.feature_names[i]) for i in order]
        lower = np.minimum(std[order], mean[order])  # importances are >= 0
        ax.barh(
            range(len(order)),
            mean[order],
            xerr=[lower, std[order]],
            color="#4C72B0",
            alpha=0.8,
            error_kw={"elinewidth": 0.8},
        )
        ax.set_yticks(range(len(order)), names, fontsize=8)
        kind = doc.metrics[key].importance_kind or ""
        ax.set_xlabel(kind.replace("_", " "))
        ax.set_title(f"{key}: top {top} features")
    fig.tight_layout()
    return _save(fig, path)


def write_all_figures(
    doc: ModelEvaluationDoc, folder: str | Path, prefix: str = "models_"
) -> list[Path]:
    """The three standard figures into ``folder`` (``<prefix>accuracy.png``, ...)."""
    folder = Path(folder)
    paths = [plot_accuracy_distributions(doc, folder / f"{prefix}accuracy.png")]
    paths.append(plot_confusion_matrices(doc, folder / f"{prefix}confusion.png"))
    if any(k in doc.confusion_matrices and "cluster" in doc.confusion_matrices[k]
           for k in doc.algorithms):  # fmt: skip
        paths.append(
            plot_confusion_matrices(
                doc, folder / f"{prefix}confusion_grouped.png", scheme="cluster"
            )
        )
    if doc.importances:
        algs = (
            tuple(k for k in ("gb", "lgbm") if k in doc.importances) or tuple(doc.importances)[:2]
        )
        paths.append(plot_importances(doc, folder / f"{prefix}importances.png", algorithms=algs))
    return paths


def _short(name: str) -> str:
    return name.replace("MagpieData ", "").replace("avg_dev", "avgdev")


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
