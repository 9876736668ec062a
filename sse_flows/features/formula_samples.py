"""Deterministic formula samples from the raw MP 2019 snapshot (tests and benchmarks)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

#: ``Li`` as an element symbol (not the start of another symbol; none exists, but be exact).
_LITHIUM = re.compile(r"Li(?![a-z])")


def mp_snapshot_formulas(raw_dir: Path | None = None) -> list[str]:
    """Unique cell formulas of ``crabnet_mp2019/mp_e_form.csv``, sorted.

    Parameters
    ----------
    raw_dir
        The raw data folder; default ``get_settings().RAW_DATA_DIR``.
    """
    if raw_dir is None:
        from sse_flows.settings import get_settings

        raw_dir = get_settings().RAW_DATA_DIR
    path = Path(raw_dir) / "crabnet_mp2019" / "mp_e_form.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; set SSE_FLOWS_RAW_DATA_DIR to the shared/data/raw folder."
        )
    formulas = pd.read_csv(path, usecols=["formula"], keep_default_na=False)["formula"]
    return sorted(set(formulas))


def sample_pool_formulas(
    n: int, raw_dir: Path | None = None, seed: int = 0, lithium_only: bool = True
) -> list[str]:
    """A deterministic sample of MP cell formulas (the screening pool's kind of input).

    Parameters
    ----------
    n
        Number of formulas. With ``lithium_only=False`` and ``n`` larger than the number
        of Li formulas, every Li formula is taken and the rest are drawn from the others.
    raw_dir
        The raw data folder; default ``get_settings().RAW_DATA_DIR``.
    seed
        Seed of ``numpy.random.default_rng``.
    lithium_only
        Draw only formulas that contain Li.

    Returns
    -------
    list[str]
        ``n`` distinct formulas (fewer if the snapshot has fewer), in sampled order.
    """
    formulas = mp_snapshot_formulas(raw_dir)
    lithium = [f for f in formulas if _LITHIUM.search(f)]
    rng = np.random.default_rng(seed)
    if lithium_only or n <= len(lithium):
        picked = rng.choice(len(lithium), size=min(n, len(lithium)), replace=False)
        return [lithium[i] for i in picked]
    others = [f for f in formulas if not _LITHIUM.search(f)]
    extra = rng.choice(len(others), size=min(n - len(lithium), len(others)), replace=False)
    sample = lithium + [others[i] for i in extra]
    order = rng.permutation(len(sample))
    return [sample[i] for i in order]
