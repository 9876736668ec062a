"""Structure features of the training_v2 rows: provenance, values, no OBELiX test leakage."""

from __future__ import annotations

import tarfile

import numpy as np
import pandas as pd
import pytest

from sse_flows.data import DATA_DIR
from sse_flows.data.open_data import (
    LEAKAGE_TOL,
    OBELIX_REPOSITORY,
    TRAINING_V2_STRUCTURES_FILE,
    build_training_v2_structures_file,
    load_training_v2,
    load_training_v2_structures,
    nearest_test_distance,
    read_obelix,
    structure_feature_names,
    structure_matrix,
)


@pytest.fixture(scope="module")
def structures():
    return load_training_v2_structures()


def test_every_row_is_a_training_row_with_its_obelix_cif_and_doi(raw_dir, structures):
    v2 = load_training_v2().set_index("formula")
    assert len(structures) > 150 and structures["formula"].is_unique
    assert set(structures["formula"]) <= set(v2.index)
    assert (structures["source"].str.len() > 0).all()
    prefix = f"{OBELIX_REPOSITORY}:data/downloads/train_cifs.tar.gz:"
    assert structures["origin"].str.startswith(prefix).all()
    raw = pd.read_csv(raw_dir / "obelix" / "train.csv", keep_default_na=False, dtype=str)
    by_id = raw.set_index("ID")
    for rec in structures.itertuples():
        assert rec.origin.endswith(f"/{rec.obelix_id}.cif")
        assert by_id.loc[rec.obelix_id, "DOI"].strip() == rec.source
        # the CIF's OBELiX row is one of the measurements merged into this training row
        assert (
            f"train.csv:line{raw.index[raw['ID'] == rec.obelix_id][0] + 2}"
            in (v2.loc[rec.formula, "origin"])
        )


def test_no_row_is_an_obelix_test_composition_or_test_cif(raw_dir, structures):
    test = read_obelix(raw_dir, "test")
    distance = nearest_test_distance(structures["formula"].tolist(), test["formula"].tolist())
    assert distance.min() > LEAKAGE_TOL
    assert not set(structures["obelix_id"]) & set(test["id"])
    text = (DATA_DIR / TRAINING_V2_STRUCTURES_FILE).read_text()
    assert "downloads/test" not in text and "test_cifs" not in text


def test_values_equal_pymatgen_on_the_raw_cif(raw_dir, structures, tmp_path):
    from pymatgen.core import Structure

    row = structures.iloc[0]
    with tarfile.open(raw_dir / "obelix" / "train_cifs.tar.gz") as tar:
        tar.extract(f"train_randomized_cifs/{row['obelix_id']}.cif", tmp_path, filter="data")
    structure = Structure.from_file(str(tmp_path / "train_randomized_cifs" /
                                        f"{row['obelix_id']}.cif"))  # fmt: skip
    assert row["cif_density"] == pytest.approx(float(structure.density), rel=1e-5)
    n_atoms = structure.composition.num_atoms
    assert row["cif_volume_per_atom"] == pytest.approx(structure.volume / n_atoms, rel=1e-5)
    assert row["cif_li_fraction"] == pytest.approx(structure.composition["Li"] / n_atoms, rel=1e-5)


def test_structure_matrix_is_nan_for_rows_without_a_cif(structures):
    names = structure_feature_names()
    formulas = [structures["formula"].iloc[0], "Li3PS4-not-a-training-row"]
    matrix = structure_matrix(formulas, structures)
    assert matrix.shape == (2, len(names))
    assert np.allclose(matrix[0], structures[names].iloc[0].to_numpy(float), equal_nan=True)
    assert np.isnan(matrix[1]).all()


def test_rebuild_gives_the_committed_table(raw_dir, tmp_path, structures):
    build_training_v2_structures_file(raw_dir, tmp_path)
    rebuilt = load_training_v2_structures(tmp_path / TRAINING_V2_STRUCTURES_FILE)
    pd.testing.assert_frame_equal(rebuilt, structures, check_exact=False, rtol=1e-5)
