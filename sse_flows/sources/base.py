"""The interface every materials source implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from pymatgen.analysis.phase_diagram import PDEntry

from sse_flows.sources.schemas import MaterialRecord


class SourceUnavailableError(RuntimeError):
    """A materials source cannot be used (no key, no network, key rejected).

    The message says how to fall back (``--source snapshot``) or what to set.
    """


class MaterialsSource(ABC):
    """A pool of materials: the offline MP 2019 snapshot or the live Materials Project."""

    #: Short name used on the command line (``--source``).
    name: str = "abstract"

    @property
    @abstractmethod
    def data_version(self) -> str:
        """Vintage of the data (e.g. ``'MP 2019-04-02 via matbench v0.1'``)."""

    @abstractmethod
    def li_records(self) -> list[MaterialRecord]:
        """Every Li-containing material of the pool."""

    @abstractmethod
    def formation_energies(self) -> dict[str, float]:
        """Reduced formula -> formation energy (eV/atom) of its lowest-energy entry.

        Covers every composition of the pool (not only Li), for phase diagrams; the
        elements are the zero references.
        """

    @abstractmethod
    def entries_in_chemsys(self, elements: Iterable[str]) -> list[PDEntry]:
        """Entries whose elements are a subset of ``elements``, ready for a PhaseDiagram.

        Every element of ``elements`` has a reference entry, so
        ``PhaseDiagram(source.entries_in_chemsys(els))`` can be built directly.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data_version={self.data_version!r})"
