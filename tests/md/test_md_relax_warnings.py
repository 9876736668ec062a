"""The cell relaxation's scipy ``logm`` warnings: negligible ones silenced, real ones kept."""

from __future__ import annotations

import warnings

import pytest


def _scipy_logm_warning(errest: float) -> None:
    # the message scipy.linalg.logm emits (scipy/linalg/_matfuncs.py), the same f-string
    message = f"logm result may be inaccurate, approximate err = {errest}"
    warnings.warn(message, RuntimeWarning, stacklevel=2)


@pytest.mark.parametrize("errest", [4.345753689427923e-13, 1e-10, 2.5e-120])
def test_negligible_logm_errors_are_silenced(errest):
    from sse_flows.md.forcefield import quiet_negligible_logm_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_negligible_logm_warnings():
            _scipy_logm_warning(errest)
    assert caught == []


@pytest.mark.parametrize("errest", [3.2e-9, 0.004, 1.5])
def test_real_logm_errors_and_other_warnings_still_warn(errest):
    from sse_flows.md.forcefield import quiet_negligible_logm_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_negligible_logm_warnings():
            _scipy_logm_warning(errest)
            warnings.warn("an unrelated warning", RuntimeWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [
        f"logm result may be inaccurate, approximate err = {errest}",
        "an unrelated warning",
    ]
