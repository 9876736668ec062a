"""Numbers that more than one stage uses: thresholds, physical constants, the paper's counts.

Every module that needs one of these imports it from here; none repeats the literal.
The paper is Kang, Kim & Min, J. Phys. Chem. C 127, 19335 (2023).
"""

from __future__ import annotations

__all__ = [
    "CLOSE_THRESHOLD_S_CM",
    "K_B_EV",
    "PAPER_ACCURACY",
    "PAPER_ANION_CLASSES",
    "PAPER_FUNNEL",
    "PAPER_N_VOTED",
    "PAPER_VOTES",
    "ROOM_TEMPERATURE_K",
    "SUPERIONIC_THRESHOLD_S_CM",
    "sci",
]

# ----------------------------------------------------------------------------- thresholds
#: Room-temperature conductivity (S/cm) at and above which a material is superionic: the
#: label of the training data, the class the models vote on, the MD verdict (paper's value).
SUPERIONIC_THRESHOLD_S_CM = 1e-4

#: sigma_RT (S/cm) at and above which an MD verdict is "close" (one decade below).
CLOSE_THRESHOLD_S_CM = 1e-5

#: Temperature (K) that "room temperature" means in sigma_RT and D_RT.
ROOM_TEMPERATURE_K = 300.0



def sci(value: float) -> str:
    """A power-of-ten number as people write it in text: ``sci(1e-4) == "1e-4"``.

    Parameters
    ----------
    value : float
        The number (any float; the mantissa keeps up to three significant digits).

    Returns
    -------
    str
        ``"1e-4"``, ``"2.5e-5"``, ``"3e2"``.
    """
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


# ----------------------------------------------------------------------------- physics
#: Boltzmann constant in eV/K: k / e with both exact in the 2019 SI (the value of
#: ``scipy.constants.k / scipy.constants.e``, which pymatgen uses).
K_B_EV = 1.380649e-23 / 1.602176634e-19

#: A diffusivity of 1 A^2/fs in cm^2/s (1e-16 cm^2 / 1e-15 s).
A2_PER_FS_TO_CM2_PER_S = 0.1

# ----------------------------------------------------------------------------- the paper
#: The paper's screening funnel: materials left after each stage of
#: :func:`sse_flows.screening.funnel.run_funnel` (MP polymorphs, 2021-2022 database).
PAPER_FUNNEL: dict[str, int] = {
    "li_containing": 20237,
    "no_transition_metal": 3190,
    "band_gap": 1859,
    "on_hull": 567,
    "oxidation_voltage": 468,
}

#: Materials the paper's models voted on: the survivors of the funnel.
PAPER_N_VOTED: int = PAPER_FUNNEL["oxidation_voltage"]

#: The paper's anion classes of the screened (voted) materials.
PAPER_ANION_CLASSES: dict[str, int] = {
    "oxide": 299,
    "halide": 96,
    "nitride": 35,
    "sulfide": 25,
    "selenide": 7,
    "hydride": 3,
    "phosphide": 2,
    "carbide": 1,
}

#: Materials voted superionic by all 100 models: GB, LightGBM, and both (the candidates).
PAPER_VOTES: dict[str, int] = {"gb": 72, "lgbm": 118, "both": 42}

#: Accuracy over 100 random 80/20 splits (264-row arXiv training set): algorithm key ->
#: {acc_mean, acc_max, acc_min, acc_std} as far as the paper gives them.
PAPER_ACCURACY: dict[str, dict[str, float]] = {
    "gb": {"acc_mean": 0.843, "acc_max": 0.962, "acc_min": 0.736, "acc_std": 0.042},
    "lgbm": {"acc_mean": 0.829, "acc_max": 0.962, "acc_min": 0.717, "acc_std": 0.048},
    "dt": {"acc_mean": 0.852},
}
