"""The live Materials Project source (mp-api ``MPRester``).

It fails at once, with the fall-back in the message, when there is no key, when the key
is malformed or rejected, or when the API cannot be reached within a short timeout
(mp-api's own start-up request has no timeout, so the endpoint is probed first).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from pymatgen.analysis.phase_diagram import PDEntry
from pymatgen.core import Composition, Structure

from sse_flows.sources.base import MaterialsSource, SourceUnavailableError
from sse_flows.sources.schemas import MaterialRecord

#: Fields requested from the summary endpoint.
SUMMARY_FIELDS = [
    "material_id",
    "formula_pretty",
    "elements",
    "nelements",
    "band_gap",
    "energy_above_hull",
    "formation_energy_per_atom",
    "structure",
]
DEFAULT_ENDPOINT = "https://api.materialsproject.org/"
MP_SOURCE = "materials-project-api"
FALLBACK = (
    "Use the offline snapshot instead (`--source snapshot`, or SSE_FLOWS_SOURCE=snapshot), "
    "or set a valid key with SSE_FLOWS_MP_API_KEY (https://materialsproject.org/api)."
)


def _probe_endpoint(endpoint: str, timeout_s: float) -> None:
    """GET the API heartbeat with a short timeout; raise SourceUnavailableError on failure."""
    import requests

    try:
        response = requests.get(endpoint.rstrip("/") + "/heartbeat", timeout=timeout_s)
    except requests.RequestException as exc:
        raise SourceUnavailableError(
            f"The Materials Project API at {endpoint} cannot be reached within {timeout_s:g} s "
            f"({type(exc).__name__}). {FALLBACK}"
        ) from exc
    if response.status_code >= 500:
        raise SourceUnavailableError(
            f"The Materials Project API at {endpoint} answered HTTP {response.status_code}. "
            f"{FALLBACK}"
        )


def _new_rester(api_key: str, endpoint: str, timeout_s: float) -> Any:
    """An ``MPRester`` with progress bars off (its requests keep mp-api's 20 s timeout)."""
    from mp_api.client import MPRester

    return MPRester(api_key=api_key, endpoint=endpoint, mute_progress_bars=True)


def _field(doc: Any, name: str) -> Any:
    """A field of a summary document: an emmet ``SummaryDoc``/mp-api doc or a plain dict."""
    if isinstance(doc, dict):
        return doc.get(name)
    return getattr(doc, name, None)


def _is_auth_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(t in text for t in ("401", "403", "api key", "api_key", "unauthorized", "forbidden"))


class MPApiSource(MaterialsSource):
    """Live Materials Project data through mp-api.

    Parameters
    ----------
    api_key
        MP API key; default ``SSE_FLOWS_MP_API_KEY`` (or mp-api's ``MP_API_KEY``).
    timeout_s
        Seconds to wait for the API's heartbeat before giving up (data requests then use
        mp-api's own per-request timeout, 20 s).
    endpoint
        API endpoint (default the public MP API).
    include_gnome
        Include GNoME-contributed materials in the Li pool (default False: the published
        method used MP's own materials).

    Raises
    ------
    SourceUnavailableError
        At once, when there is no key, the key is malformed, or the API is unreachable.
    """

    name = "mp"

    def __init__(
        self,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        endpoint: str | None = None,
        include_gnome: bool = False,
    ) -> None:
        if api_key is None:
            from sse_flows.settings import get_settings

            api_key = get_settings().mp_api_key
        if not api_key:
            raise SourceUnavailableError(f"No Materials Project API key is set. {FALLBACK}")
        api_key = api_key.strip()
        if len(api_key) != 32 or not api_key.isalnum():
            raise SourceUnavailableError(
                "The Materials Project API key is invalid (MP keys are 32 letters and digits; "
                f"this one has {len(api_key)} characters). {FALLBACK}"
            )
        self.timeout_s = float(timeout_s)
        self.endpoint = endpoint or DEFAULT_ENDPOINT
        self.include_gnome = include_gnome
        _probe_endpoint(self.endpoint, self.timeout_s)
        try:
            self._rester = _new_rester(api_key, self.endpoint, self.timeout_s)
        except Exception as exc:
            raise SourceUnavailableError(
                f"Could not start the Materials Project client: {exc}. {FALLBACK}"
            ) from exc
        self._formation_energies: dict[str, float] | None = None

    @property
    def data_version(self) -> str:
        version = getattr(self._rester, "db_version", None) or "unknown"
        return f"MP {version} via mp-api"

    def _call(self, what: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except SourceUnavailableError:
            raise
        except Exception as exc:
            if _is_auth_error(exc):
                raise SourceUnavailableError(
                    f"The Materials Project rejected the API key while {what}: {exc}. {FALLBACK}"
                ) from exc
            raise SourceUnavailableError(
                f"The Materials Project API failed while {what}: {exc}. {FALLBACK}"
            ) from exc

    def _summary_search(self, **criteria) -> list:
        search = self._rester.materials.summary.search
        if "include_gnome" in inspect.signature(search).parameters:
            criteria["include_gnome"] = self.include_gnome
        return self._call("searching the summary endpoint", search, **criteria)

    def li_records(self) -> list[MaterialRecord]:
        """Every Li-containing, non-deprecated MP material, one record per material id."""
        docs = self._summary_search(
            elements=["Li"], deprecated=False, fields=SUMMARY_FIELDS, all_fields=False
        )
        return [self.record_from_doc(doc) for doc in docs]

    def record_from_doc(self, doc: Any) -> MaterialRecord:
        """Convert one summary document (emmet ``SummaryDoc`` or dict) to a record."""
        formula = _field(doc, "formula_pretty")
        if not formula:
            raise SourceUnavailableError(
                f"A Materials Project summary document has no formula_pretty: {doc!r}"
            )
        composition = Composition(formula)
        elements = _field(doc, "elements") or list(composition)
        structure = _field(doc, "structure")
        if isinstance(structure, Structure):
            structure = structure.as_dict()
        band_gap = _field(doc, "band_gap")
        material_id = _field(doc, "material_id")
        return MaterialRecord(
            material_id=str(material_id) if material_id is not None else None,
            formula=composition.reduced_formula,
            elements=sorted(str(e) for e in elements),
            nelements=int(_field(doc, "nelements") or len(elements)),
            band_gap=band_gap,
            band_gaps=[band_gap] if band_gap is not None else [],
            formation_energy_per_atom=_field(doc, "formation_energy_per_atom"),
            energy_above_hull=_field(doc, "energy_above_hull"),
            structure=structure,
            source=MP_SOURCE,
            data_version=self.data_version,
        )

    def structure(self, material_id: str) -> Structure | None:
        """The MP structure of one material (for MD), or None when MP has none."""
        return self._call(
            f"fetching the structure of {material_id}",
            self._rester.get_structure_by_material_id,
            material_id,
        )

    def formation_energies(self) -> dict[str, float]:
        """Reduced formula -> minimum formation energy (eV/atom) over all of MP.

        Downloads two small fields of every MP material (~10^5 documents) once per source.
        """
        if self._formation_energies is None:
            docs = self._summary_search(
                deprecated=False,
                fields=["formula_pretty", "formation_energy_per_atom"],
                all_fields=False,
            )
            energies: dict[str, float] = {}
            for doc in docs:
                formula, energy = (
                    _field(doc, "formula_pretty"),
                    _field(doc, "formation_energy_per_atom"),
                )
                if formula is None or energy is None:
                    continue
                key = Composition(formula).reduced_formula
                energies[key] = min(energy, energies.get(key, float("inf")))
            for key in list(energies):
                if len(Composition(key)) == 1:
                    energies[key] = 0.0
            self._formation_energies = energies
        return dict(self._formation_energies)

    def entries_in_chemsys(self, elements: Iterable[str]) -> list[PDEntry]:
        """MP's (MP2020-compatible) ``ComputedStructureEntry`` list of the chemical system."""
        symbols = sorted({str(e) for e in elements})
        if not symbols:
            raise ValueError("entries_in_chemsys needs at least one element")
        return list(
            self._call(
                f"fetching entries of {'-'.join(symbols)}",
                self._rester.get_entries_in_chemsys,
                symbols,
            )
        )
