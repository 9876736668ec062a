"""The universal ML potentials of the force-field engines (CHGNet, SevenNet) as ASE calculators.

The calculators come from atomate2's ``ase_calculator`` (the names atomate2 users know);
their weights ship in their wheels (nothing downloads at run time). Every force-field path
loads them here: the one-structure engine, the relaxation and the batched potentials.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from sse_flows.md.protocol import DEFAULT_MD_ENGINE

#: Force fields whose weights ship in their wheel (engine name -> atomate2 MLFF name, kwargs).
FORCE_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    "chgnet": ("CHGNet", {}),
    "sevennet": ("SevenNet", {"model": "7net-0"}),
}


def engine_names() -> tuple[str, ...]:
    """Force-field engine names accepted everywhere (CLI, flow, makers)."""
    return tuple(FORCE_FIELDS)


@functools.lru_cache(maxsize=4)
def load_calculator(engine: str = DEFAULT_MD_ENGINE, device: str = "cpu"):
    """The ASE calculator of a force-field engine (loaded once per process).

    Parameters
    ----------
    engine
        "chgnet" or "sevennet".
    device
        "cpu" or "cuda".
    """
    import warnings

    from atomate2.forcefields.utils import ase_calculator

    if engine not in FORCE_FIELDS:
        raise ValueError(f"unknown force-field engine {engine!r}; use one of {engine_names()}")
    name, kwargs = FORCE_FIELDS[engine]
    device_key = "use_device" if engine == "chgnet" else "device"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ase_calculator(name, **kwargs, **{device_key: device})


def forces_only(calculator):
    """The calculator for NVT MD: energy and forces, without the stress (and magmoms).

    CHGNet's ASE calculator always predicts ``efsm``: the stress is a second backward pass
    through the network, ~35 % of a step's time, and NVT never uses it. This returns a
    shallow copy (same model, own results) whose ``calculate`` asks CHGNet for ``ef``
    only; other calculators are returned unchanged. The relaxation, which needs the
    stress, keeps the full calculator.
    """
    try:
        from chgnet.model.dynamics import CHGNetCalculator
    except ImportError:  # pragma: no cover - chgnet is a dependency
        return calculator
    if not isinstance(calculator, CHGNetCalculator):
        return calculator
    md_calculator = copy.copy(calculator)
    md_calculator.results = {}
    md_calculator.atoms = None
    md_calculator.calculate = functools.partial(
        CHGNetCalculator.calculate, md_calculator, task="ef"
    )
    return md_calculator
