"""``sse-flows data build``: run the builders of the derived data in ``sse_flows/data/``.

Each builder derives its files from the raw reference data, deterministically (a rebuild
gives byte-identical files), writing every file atomically:

``training``
    ``training.csv`` + ``training_metadata.json``: Kang 2023 + Xu 2020 conductivities
    (:mod:`sse_flows.data.training`).
``snapshot``
    ``mp2019_snapshot.csv.gz`` + ``mp2019_snapshot.json``: the offline MP 2019 snapshot
    (:mod:`sse_flows.data.snapshot`).
``training_v2``
    ``training_v2.csv`` + ``training_v2_metadata.json`` + ``training_v2_structures.csv``:
    Kang + Xu + OBELiX train, with the OBELiX test split held out, and the structure
    features of its rows (:mod:`sse_flows.data.open_data`).
``structures``
    ``structures/*.json``: the packaged MD structures (:mod:`sse_flows.data.structure_builders`).
``mp_structures``
    ``mp_structures.json.gz``: one Materials Project structure per Li composition of the
    snapshot that passes the element rule, from the raw CIF archive
    (:mod:`sse_flows.data.mp_structures`; reads the snapshot built before it).

Run them with :func:`build_all` (all by default, or ``only`` a subset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from sse_flows.data.errors import DataBuildError

#: Sub-folder of the output folder that receives the ``structures`` builder's files.
STRUCTURES_DIR = "structures"


def _build_training(raw_dir: Path, out_dir: Path) -> dict[str, str]:
    from sse_flows.data.training import build_training_files

    return build_training_files(raw_dir, out_dir)


def _build_snapshot(raw_dir: Path, out_dir: Path) -> dict[str, str]:
    from sse_flows.data.snapshot import build_snapshot_files

    return build_snapshot_files(raw_dir, out_dir)


def _build_training_v2(raw_dir: Path, out_dir: Path) -> dict[str, str]:
    from sse_flows.data.open_data import (
        build_training_v2_files,
        build_training_v2_structures_file,
    )

    hashes = build_training_v2_files(raw_dir, out_dir)
    # reads the training_v2.csv just written to out_dir
    hashes.update(build_training_v2_structures_file(raw_dir, out_dir))
    return hashes


def _build_structures(raw_dir: Path, out_dir: Path) -> dict[str, str]:
    from sse_flows.data.structure_builders import build_structures
    from sse_flows.data.writers import sha256

    written = build_structures(raw_dir, out_dir / STRUCTURES_DIR)
    return {f"{STRUCTURES_DIR}/{path.name}": sha256(path) for path in sorted(written)}


def _build_mp_structures(raw_dir: Path, out_dir: Path) -> dict[str, str]:
    from sse_flows.data.mp_structures import build_mp_structure_files

    return build_mp_structure_files(raw_dir, out_dir)


_RUN: dict[str, Callable[[Path, Path], dict[str, str]]] = {
    "training": _build_training,
    "snapshot": _build_snapshot,
    "training_v2": _build_training_v2,
    "structures": _build_structures,
    "mp_structures": _build_mp_structures,
}
#: Names of the builders, in the order :func:`build_all` runs them.
BUILDERS = tuple(_RUN)


def select_builders(only: str | Iterable[str] | None) -> tuple[str, ...]:
    """The builders named by ``only`` (a comma list or names), in :data:`BUILDERS` order.

    ``None`` selects every builder.

    Raises
    ------
    ValueError
        For an empty selection or an unknown name (the message lists the valid names).
    """
    if only is None:
        return BUILDERS
    names = only.split(",") if isinstance(only, str) else list(only)
    names = [name.strip() for name in names if name.strip()]
    unknown = [name for name in names if name not in BUILDERS]
    if unknown or not names:
        what = f"unknown data builder(s) {', '.join(map(repr, unknown))}" if unknown else "none"
        raise ValueError(f"{what}; choose from {', '.join(BUILDERS)}")
    return tuple(name for name in BUILDERS if name in names)


def build_all(
    raw_dir: Path | str | None = None,
    out_dir: Path | str | None = None,
    only: str | Iterable[str] | None = None,
) -> dict[str, str]:
    """Run the data builders (all, or ``only`` those named) into ``out_dir``.

    Parameters
    ----------
    raw_dir
        The raw reference data folder (default: settings ``RAW_DATA_DIR``).
    out_dir
        Output folder (default: the package's ``sse_flows/data/``); the ``structures``
        builder writes into its ``structures/`` sub-folder.
    only
        Builder names (:data:`BUILDERS`), as an iterable or a comma list; ``None``: all.

    Returns
    -------
    dict
        ``{file name relative to out_dir: SHA-256}`` of every written file.

    Raises
    ------
    ValueError
        For an unknown builder name (checked before anything is read or written).
    DataBuildError
        When the raw folder is missing or a raw table cannot be turned into a derived one.
    """
    from sse_flows.data import DATA_DIR
    from sse_flows.settings import get_settings

    names = select_builders(only)
    raw_dir = Path(raw_dir) if raw_dir is not None else get_settings().RAW_DATA_DIR
    out_dir = Path(out_dir) if out_dir is not None else DATA_DIR
    if not raw_dir.is_dir():
        raise DataBuildError(
            f"raw data folder {raw_dir} not found; pass --raw or set SSE_FLOWS_RAW_DATA_DIR"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    hashes: dict[str, str] = {}
    for name in names:
        hashes.update(_RUN[name](raw_dir, out_dir))
    return hashes
