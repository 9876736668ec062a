"""Arrhenius plots of :class:`~sse_flows.analysis.schemas.DiffusionDoc` results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sse_flows.analysis.schemas import DiffusionDoc
from sse_flows.constants import K_B_EV, ROOM_TEMPERATURE_K

__all__ = ["plot_arrhenius"]


def _label(doc: DiffusionDoc) -> str:
    name = f"{doc.material_id} {doc.formula}" if doc.material_id else (doc.formula or "")
    if doc.ea_eV is not None and doc.ea_err_eV is not None:
        return f"{name}: Ea = {doc.ea_eV:.2f}$\\pm${doc.ea_err_eV:.2f} eV"
    return f"{name}: no Ea (< 2 diffusive T)"


def plot_arrhenius(
    doc_or_docs: DiffusionDoc | Sequence[DiffusionDoc],
    path: str | Path | None = None,
    room_temperature: float = ROOM_TEMPERATURE_K,
    ncols: int = 3,
):
    """Arrhenius plot(s): log10 D against 1000/T with error bars, the fit extended down to
    ``room_temperature``, and the room-temperature value with its interval (or the bound).

    Filled markers are temperatures used in the fit, open circles diffusive but excluded
    (host melted), crosses non-diffusive (drawn at the larger of D and the detection limit,
    with a downward arrow).

    Parameters
    ----------
    doc_or_docs
        One document, or several (one panel each).
    path
        PNG file to write; ``None`` only returns the figure.
    room_temperature
        Left end of the extrapolation (K).
    ncols
        Panels per row when several documents are given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    docs = [doc_or_docs] if isinstance(doc_or_docs, DiffusionDoc) else list(doc_or_docs)
    ncols = min(ncols, len(docs))
    nrows = int(np.ceil(len(docs) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False, sharex=True
    )
    x_rt = 1000.0 / room_temperature
    for ax, doc in zip(axes.flat, docs, strict=False):
        _plot_points(ax, doc)
        _plot_fit_line(ax, doc, x_rt)
        _plot_room_temperature(ax, doc, x_rt, room_temperature)
        _label_panel(ax, doc)
    for ax in list(axes.flat)[len(docs) :]:
        ax.axis("off")
    single = ncols == 1
    _add_legend(fig, room_temperature, single)
    if single:
        fig.set_size_inches(4.6, 4.6)
    fig.tight_layout(rect=(0, 0.2 if single else 0.04, 1, 1))
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def _plot_points(ax, doc: DiffusionDoc) -> None:
    """One marker per temperature: in the fit, diffusive but excluded, or not diffusive."""
    for e in doc.temperatures:
        x = 1000.0 / e.T
        if e.used_in_fit:
            low = max(e.D_cm2_s - e.D_err, e.D_cm2_s * 0.05)
            yerr = [
                [np.log10(e.D_cm2_s) - np.log10(low)],
                [np.log10(e.D_cm2_s + e.D_err) - np.log10(e.D_cm2_s)],
            ]
            ax.errorbar(x, np.log10(e.D_cm2_s), yerr=yerr, fmt="o", color="C0", capsize=3)
        elif e.diffusive:
            ax.plot(x, np.log10(e.D_cm2_s), "o", mfc="none", color="C1")
        else:
            y = np.log10(max(e.D_cm2_s, e.D_detection_limit))
            ax.plot(x, y, "x", color="C3")
            arrow = {"arrowstyle": "->", "color": "C3"}
            ax.annotate("", (x, y - 0.6), (x, y), arrowprops=arrow)
            ax.plot(x, y - 0.8, alpha=0)  # keep the arrow inside the axes


def _plot_fit_line(ax, doc: DiffusionDoc, x_rt: float) -> None:
    """The Arrhenius fit from the hottest fitted temperature down to room temperature."""
    if doc.ea_eV is not None and doc.d0_cm2_s is not None:
        temps_fit = [e.T for e in doc.temperatures if e.used_in_fit]
        inv = np.linspace(1000.0 / max(temps_fit), x_rt, 100)
        ln_d = np.log(doc.d0_cm2_s) - doc.ea_eV / (K_B_EV * (1000.0 / inv))
        ax.plot(inv, ln_d / np.log(10), "-", color="C0", lw=1)


def _plot_room_temperature(ax, doc: DiffusionDoc, x_rt: float, room_temperature: float) -> None:
    """D at room temperature with its interval, or the upper bound behind a sigma bound."""
    if doc.d_rt_cm2_s is not None and doc.sigma_rt_low is not None and doc.sigma_rt_S_cm:
        ratio_low = doc.sigma_rt_low / doc.sigma_rt_S_cm
        ratio_high = doc.sigma_rt_high / doc.sigma_rt_S_cm
        y = np.log10(doc.d_rt_cm2_s)
        ax.errorbar(
            x_rt,
            y,
            yerr=[[-np.log10(ratio_low)], [np.log10(ratio_high)]],
            fmt="s",
            color="C0",
            capsize=3,
        )
    elif doc.sigma_rt_is_upper_bound and doc.sigma_rt_high is not None:
        # the bound on D(300 K) behind the sigma bound (same Nernst-Einstein factor)
        factor = _factor(doc, max(e.n_li for e in doc.temperatures), room_temperature)
        if factor:
            ax.plot(x_rt, np.log10(doc.sigma_rt_high / factor), "v", color="C3")


def _label_panel(ax, doc: DiffusionDoc) -> None:
    """Title (material and Ea), axis labels and grid of one panel."""
    ax.set_title(_label(doc), fontsize=8)
    ax.set_xlabel("1000/T (1/K)")
    ax.set_ylabel("log10 D (cm$^2$/s)")
    ax.grid(alpha=0.3)


def _add_legend(fig, room_temperature: float, single: bool) -> None:
    """The figure legend explaining every marker, below the panels."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", color="C0", ls="-", label="in fit (+- D_err), fit line"),
        Line2D([], [], marker="o", mfc="none", color="C1", ls="", label="host melted: excluded"),
        Line2D([], [], marker="x", color="C3", ls="", label="not diffusive (max(D, limit))"),
        Line2D([], [], marker="s", color="C0", ls="", label=f"D({room_temperature:g} K), 95 %"),
        Line2D([], [], marker="v", color="C3", ls="", label="upper bound on D(RT)"),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=2 if single else len(handles),
        fontsize=7,
        frameon=False,
    )


def _factor(doc: DiffusionDoc, n_li: int, temperature: float) -> float | None:
    """Nernst-Einstein factor (S/cm per cm^2/s) from the stored cell volume and Li count."""
    import scipy.constants as const

    if not doc.volume_A3:
        return None
    n_per_cm3 = n_li / (doc.volume_A3 * 1e-24)
    return float(n_per_cm3 * const.e**2 / (const.k * temperature))
