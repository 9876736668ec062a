"""When does production stop? One decision for every engine (continue-until).

After each production chunk the run so far is read back and analysed with the analysis
stage's own code; production stops when

1. the host framework is unstable (melted or rearranged: more steps cannot help);
2. ``production_steps`` have run and the relative standard error of D (the larger of the
   block and the He et al. hop-count estimates) is at most ``target_d_relative_error``
   with Li diffusion seen ("target error reached");
3. ``production_steps`` have run and so few Li hops were seen that, at the same rate,
   even ``max_production_steps`` would not reach the analysis' ``min_hops`` ("too few
   hops": more steps would only tighten an upper bound on D, the answer of a poor
   conductor);
4. ``max_production_steps`` have run ("maximum length reached"), or production was fixed
   at ``production_steps`` ("fixed length").
"""

from __future__ import annotations

import logging

from sse_flows.md.protocol import MDProtocol
from sse_flows.md.schemas import ProductionRecord

logger = logging.getLogger(__name__)


#: stop reason of a colder temperature skipped because the hottest saw too few hops
SKIPPED = "skipped: too few hops when hotter"


def hottest_first(protocol: MDProtocol) -> tuple[float, list[float]]:
    """The hottest temperature and the others (hottest first, then in protocol order)."""
    hottest = max(protocol.temperatures)
    return hottest, [t for t in protocol.temperatures if t != hottest]


def skip_colder(
    temperature: float, hotter: ProductionRecord | None, protocol: MDProtocol
) -> ProductionRecord | None:
    """The skipped record of ``temperature`` when the hotter run says skip, else None.

    A run at a lower temperature can only see fewer hops than one at a higher temperature
    (D rises with T), so when the hottest run finished (host intact, no engine error) with
    fewer Li hops than the analysis needs to call it diffusive (``min_hops``), the colder
    runs would add nothing but an upper bound that the hottest already gives.
    """
    from sse_flows.analysis.diffusion import DiffusionSettings

    if not protocol.skip_colder_without_hops or hotter is None:
        return None
    if temperature >= hotter.temperature or hotter.error or hotter.li_hops is None:
        return None
    if hotter.stop_reason in (None, "host unstable", "engine error", SKIPPED):
        return None
    if hotter.li_hops >= DiffusionSettings().min_hops:
        return None
    return ProductionRecord(temperature=temperature, stop_reason=SKIPPED)


def read_production(record: ProductionRecord, time_step_fs: float | None = None):
    """The production run of a record as one :class:`~sse_flows.analysis.TemperatureRun`.

    Chunks are joined in order (a restart repeating the last frame is dropped).
    """
    from sse_flows.analysis.readers import load_runs

    (run,) = load_runs(
        record.files, temperatures=[record.temperature] * len(record.files),
        time_step_fs=time_step_fs,
    )
    return run


def production_decision(
    record: ProductionRecord, protocol: MDProtocol, time_step_fs: float | None = None
) -> ProductionRecord:
    """The record with ``stop_reason`` set when production should stop (else None).

    Parameters
    ----------
    record
        The production so far (files, steps).
    protocol
        Lengths and the target error.
    time_step_fs
        Time between stored frames, for files that do not record it.

    Returns
    -------
    ProductionRecord
        A copy with ``stop_reason``, ``d_relative_error`` and ``li_hops`` updated.
    """
    from sse_flows.analysis.diffusion import DiffusionSettings, analyze_temperature

    updated = record.model_copy()
    if record.error:
        updated.stop_reason = "engine error"
        return updated
    done = record.production_steps
    if not protocol.continues and done >= protocol.production_steps:
        updated.stop_reason = "fixed length"
    elif done >= protocol.production_limit:
        updated.stop_reason = "maximum length reached"
    settings = DiffusionSettings()
    try:
        run = read_production(record, time_step_fs)
        entry = analyze_temperature(run, settings)
    except (ValueError, IndexError) as exc:  # too short to analyse yet
        logger.info("no decision on %s K yet: %s", record.temperature, exc)
        if updated.stop_reason is None and protocol.next_chunk_steps(done) == 0:
            updated.stop_reason = "maximum length reached"
        return updated
    updated.li_hops = entry.li_hops
    updated.d_relative_error = entry.D_err / entry.D_cm2_s if entry.D_cm2_s > 0 else None
    if updated.stop_reason is not None:
        return updated
    if not entry.framework_stable:
        updated.stop_reason = "host unstable"
    elif (
        done >= protocol.production_steps
        and entry.diffusive
        and updated.d_relative_error is not None
        and updated.d_relative_error <= protocol.target_d_relative_error
    ):
        updated.stop_reason = "target error reached"
    elif (
        done >= protocol.production_steps
        and not entry.diffusive
        and entry.li_hops * protocol.production_limit / done < settings.min_hops
    ):
        updated.stop_reason = "too few hops"
    return updated
