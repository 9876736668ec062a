"""When does production stop? One decision for every engine (continue-until).

After each production chunk the run so far is read back and analysed with the analysis
stage's own code; production stops when

1. the host framework is unstable (melted or rearranged: more steps cannot help), also
   when the length limit is reached in the same chunk ("host unstable");
2. ``production_steps`` have run and the relative standard error of D (the larger of the
   block and the He et al. hop-count estimates) is at most ``target_d_relative_error``
   with Li diffusion seen ("target error reached");
3. ``production_steps`` have run and both the hops and the MSD say that even
   ``max_production_steps`` would not show diffusion ("too few hops": more steps would only
   tighten an upper bound on D, the answer of a poor conductor). The hops say so when the
   one-sided upper confidence limit (``HOP_COUNT_CONFIDENCE``, 84 %: one sigma) of the
   Poisson mean of the counted hops, scaled to the maximum length, stays below the
   analysis' ``min_hops``: two counted hops do not prove that a run four times longer sees
   fewer than ten (the limits for 0-5 hops: 1.83, 3.29, 4.62, 5.90, 7.15, 8.37). The MSD
   says so when D is below the detection limit that the maximum-length run would have, or
   the MSD is not linear in t. A run stops only when both agree (a fast conductor whose
   first chunk counted two hops while its MSD already grows linearly runs on);
4. ``max_production_steps`` have run ("maximum length reached"), or production was fixed
   at ``production_steps`` ("fixed length").
"""

from __future__ import annotations

import logging

from scipy.stats import chi2

from sse_flows.md.protocol import MDProtocol
from sse_flows.md.schemas import ProductionRecord

logger = logging.getLogger(__name__)


#: one-sided confidence of the upper limit on the hop count that the "too few hops" stop
#: projects to the maximum length (0.84: one sigma)
HOP_COUNT_CONFIDENCE = 0.84

#: stop reason of a colder temperature skipped because the hottest saw too few hops
SKIPPED = "skipped: too few hops when hotter"

#: stop reason of a fallback temperature not run because it was not needed
#: (:func:`fallback_needed`: the hottest host stayed intact, and the other temperatures give
#: two diffusive runs for the Arrhenius fit, or no diffusion at all)
FALLBACK_NOT_NEEDED = "skipped: hottest host intact"

#: why a run with one of the skipped stop reasons did not run (its document's reason)
SKIP_REASONS = {
    SKIPPED: "not run: the hottest temperature saw too few Li hops, and a colder run sees "
    "fewer",
    FALLBACK_NOT_NEEDED: "not run: a fallback temperature, needed only when the hottest "
    "temperature's host is unstable or when it alone shows Li diffusion, and neither "
    "happened",
}


def hottest_first(protocol: MDProtocol) -> tuple[float, list[float]]:
    """The hottest temperature and the others (in protocol order, then the fallbacks)."""
    hottest = max(protocol.temperatures)
    others = [t for t in protocol.temperatures if t != hottest]
    return hottest, [*others, *protocol.fallback_temperatures]


def needs_hottest(temperature: float, protocol: MDProtocol) -> bool:
    """Whether the run at ``temperature`` waits for the hottest run's record (a colder
    temperature that may be skipped; a fallback temperature waits for every protocol
    temperature: :func:`fallback_needed`)."""
    if temperature == max(protocol.temperatures):
        return False
    return protocol.skip_colder_without_hops or temperature in protocol.fallback_temperatures


def fallback_needed(records: dict[float, ProductionRecord], protocol: MDProtocol) -> bool:
    """Whether the fallback temperatures must run, given the protocol temperatures' records.

    They run when the hottest run's host was unstable ("host unstable": its D is unusable),
    or when the hottest run is diffusive but fewer than two protocol temperatures are (the
    colder ones saw too few hops, or no linear MSD, in their length): without a second
    diffusive temperature there is no Arrhenius fit, and a temperature between the two
    is the cheapest one likely to diffuse. A hottest run without Li diffusion needs no
    fallback (a colder run sees less).

    Parameters
    ----------
    records
        Finished records by temperature; at least the hottest protocol temperature's.
    protocol
        The MD protocol.
    """
    hottest = records.get(max(protocol.temperatures))
    if hottest is None:
        return False
    if hottest.stop_reason == "host unstable":
        return True
    if not hottest.diffusive:
        return False
    usable = [
        t for t in protocol.temperatures
        if t in records and records[t].diffusive and records[t].stop_reason != "host unstable"
    ]  # fmt: skip
    return len(usable) < 2


def skip_colder(
    temperature: float,
    hotter: ProductionRecord | None,
    protocol: MDProtocol,
    earlier: dict[float, ProductionRecord] | None = None,
) -> ProductionRecord | None:
    """The skipped record of ``temperature`` when the hotter runs say skip, else None.

    A fallback temperature (``protocol.fallback_temperatures``) runs only when
    :func:`fallback_needed` says so for ``earlier`` (the records of the protocol
    temperatures; default: the hottest's alone); otherwise it is skipped
    (:data:`FALLBACK_NOT_NEEDED`).

    A run at a lower temperature can only see fewer hops than one at a higher temperature
    (D rises with T), so when the hottest run finished (host intact, no engine error) with
    fewer Li hops than the analysis needs to call it diffusive (``min_hops``), the colder
    runs would add nothing but an upper bound that the hottest already gives.
    """
    from sse_flows.analysis.diffusion import DiffusionSettings

    if hotter is None or temperature >= hotter.temperature:
        return None
    if temperature in protocol.fallback_temperatures:
        if fallback_needed(earlier or {hotter.temperature: hotter}, protocol):
            return None
        return ProductionRecord(temperature=temperature, stop_reason=FALLBACK_NOT_NEEDED)
    if not protocol.skip_colder_without_hops:
        return None
    if hotter.error or hotter.li_hops is None:
        return None
    if hotter.stop_reason in (None, "host unstable", "engine error", SKIPPED):
        return None
    if hotter.li_hops >= DiffusionSettings().min_hops:
        return None
    return ProductionRecord(temperature=temperature, stop_reason=SKIPPED)


def hop_count_upper_limit(hops: int, confidence: float = HOP_COUNT_CONFIDENCE) -> float:
    """One-sided upper confidence limit of a Poisson mean after ``hops`` counts (Garwood).

    Parameters
    ----------
    hops
        Counted events (>= 0).
    confidence
        Probability that the true mean lies below the limit.

    Returns
    -------
    float
        chi2.ppf(confidence, 2 (hops + 1)) / 2; for no counts -ln(1 - confidence).
    """
    if hops < 0:
        raise ValueError(f"a hop count cannot be negative: {hops}")
    return float(chi2.ppf(confidence, 2 * (hops + 1)) / 2)


def diffusion_out_of_reach(entry, done: int, limit: int, settings) -> bool:
    """Whether a run of ``limit`` steps could not show diffusion, judged after ``done``.

    Parameters
    ----------
    entry
        The :class:`~sse_flows.analysis.schemas.TemperatureDiffusion` of the run so far.
    done, limit
        Production steps run so far and the maximum length.
    settings
        The :class:`~sse_flows.analysis.diffusion.DiffusionSettings` of the analysis.

    Returns
    -------
    bool
        True when the hops (upper confidence limit of their count, scaled to ``limit``, below
        ``min_hops``) and the MSD (D below the detection limit of a ``limit``-step run, which
        falls as 1/t, or a log-log slope below ``min_msd_exponent``) both say no.
    """
    scale = limit / done
    hops_say_no = hop_count_upper_limit(entry.li_hops) * scale < settings.min_hops
    detection_limit_at_limit = entry.D_detection_limit / scale
    msd_says_no = entry.D_cm2_s < detection_limit_at_limit or (
        entry.msd_exponent is not None and entry.msd_exponent < settings.min_msd_exponent
    )
    return hops_say_no and msd_says_no


def read_production(record: ProductionRecord, time_step_fs: float | None = None):
    """The production run of a record as one :class:`~sse_flows.analysis.TemperatureRun`.

    The record lists the chunks of one run, so they are joined (``join_chunks``: in step
    order when the files record it, else in the record's order; a restart repeating the
    last frame is dropped).
    """
    from sse_flows.analysis.readers import load_runs

    (run,) = load_runs(
        record.files, temperatures=[record.temperature] * len(record.files),
        time_step_fs=time_step_fs, join_chunks=True,
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
    from sse_flows.md.sanity import settled_production

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
        # the window the document analyses: from the first frame at temperature on
        run, _, _ = settled_production(read_production(record, time_step_fs),
                                       record.temperature, protocol.temperature_tolerance)
        entry = analyze_temperature(run, settings)
    except (ValueError, IndexError) as exc:  # too short to analyse yet
        logger.info("no decision on %s K yet: %s", record.temperature, exc)
        if updated.stop_reason is None and protocol.next_chunk_steps(done) == 0:
            updated.stop_reason = "maximum length reached"
        return updated
    updated.li_hops = entry.li_hops
    updated.diffusive = bool(entry.diffusive)
    updated.d_relative_error = entry.D_err / entry.D_cm2_s if entry.D_cm2_s > 0 else None
    if not entry.framework_stable:
        # also at the length limit: a host that broke in the last chunk is reported as
        # such (the fallback temperatures and the colder runs depend on it)
        updated.stop_reason = "host unstable"
    elif updated.stop_reason is not None:
        return updated
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
        and diffusion_out_of_reach(entry, done, protocol.production_limit, settings)
    ):
        updated.stop_reason = "too few hops"
    return updated


def extension_temperature(
    diffusion, records: dict[float, ProductionRecord], protocol: MDProtocol
) -> float | None:
    """The temperature that earns one more chunk, or None (see ``extension_chunks``).

    Only an "undetermined" verdict earns more sampling, and only at a temperature that ran
    (not skipped), ended without an engine error and with its host intact.

    Parameters
    ----------
    diffusion
        The ``DiffusionDoc`` of the runs so far (None: no analysis, nothing to extend).
    records
        Temperature -> its finished production record.
    protocol
        The protocol (``extension_chunks`` rounds left).
    """
    from sse_flows.analysis.verdict import diffusion_verdict, limiting_temperature

    if protocol.extension_chunks <= 0 or diffusion is None:
        return None
    if diffusion_verdict(diffusion) != "undetermined":
        return None
    temperature = limiting_temperature(diffusion)
    record = records.get(temperature) if temperature is not None else None
    if record is None or record.chunks == 0 or record.error or (
        record.stop_reason == "host unstable"
    ):
        return None
    return temperature


def extension_protocol(record: ProductionRecord, protocol: MDProtocol) -> MDProtocol:
    """The protocol of one more chunk at ``record``'s temperature, one round used."""
    return protocol.with_changes(
        max_production_steps=max(record.production_steps, protocol.production_steps)
        + protocol.chunk_steps,
        extension_chunks=protocol.extension_chunks - 1,
    )
