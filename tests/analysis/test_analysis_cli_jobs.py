"""The `sse-flows analyze` command and the jobflow job give the library's numbers."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sse_flows.cli import cli

REQUIRED = {
    "ea_eV",
    "ea_err_eV",
    "sigma_rt_S_cm",
    "sigma_rt_low",
    "sigma_rt_high",
    "temperatures",
    "flags",
}


def test_cli_json_last_line_matches_the_api(kang_dir, kang_docs, tmp_path):
    png = tmp_path / "arrhenius.png"
    result = CliRunner().invoke(
        cli, ["analyze", str(kang_dir / "mp-532413"), "--json", "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    assert REQUIRED <= set(payload)
    doc = kang_docs["mp-532413"]
    assert payload["ea_eV"] == pytest.approx(doc.ea_eV)
    assert payload["sigma_rt_S_cm"] == pytest.approx(doc.sigma_rt_S_cm)
    assert [t["T"] for t in payload["temperatures"]] == [800.0, 1100.0, 1400.0, 1700.0]
    for entry in payload["temperatures"]:
        assert {"T", "D_cm2_s", "D_err", "li_hops", "diffusive"} <= set(entry)
        assert isinstance(entry["diffusive"], bool)
    assert png.stat().st_size > 10_000


def test_cli_table_and_bound(kang_dir):
    result = CliRunner().invoke(cli, ["analyze", str(kang_dir / "mp-1222404")])
    assert result.exit_code == 0, result.output
    assert "upper bound only" in result.output
    assert "fewer than 2 diffusive" in result.output


def test_cli_errors_are_one_clear_line(tmp_path, kang_dir):
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path / "nothing")])
    assert result.exit_code != 0
    assert "nothing" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(
        cli, ["analyze", str(kang_dir / "mp-532413"), "--temperatures", "800,900"]
    )
    assert result.exit_code != 0 and "give one temperature per trajectory" in result.output


def test_job_runs_in_jobflow_and_equals_the_api():
    from jobflow import run_locally

    from sse_flows.analysis import DiffusionDoc, analyze_runs
    from sse_flows.analysis.jobs import DiffusionAnalysisMaker, analyze_diffusion_job
    from sse_flows.analysis.synthetic import arrhenius_hop_rate, random_walk_run

    runs = [
        random_walk_run(arrhenius_hop_rate(T, 0.3), temperature=T, n_frames=600, seed=i)
        for i, T in enumerate((800.0, 1000.0, 1200.0))
    ]
    direct = analyze_runs(runs)
    job = analyze_diffusion_job([r.as_dict() for r in runs], material_id="synthetic-1")
    out = run_locally(job, ensure_success=True)
    doc = out[job.uuid][1].output
    doc = doc if isinstance(doc, DiffusionDoc) else DiffusionDoc.model_validate(doc)
    assert doc.material_id == "synthetic-1"
    assert doc.ea_eV == pytest.approx(direct.ea_eV, rel=1e-9)
    assert doc.provenance.parameters["min_hops"] == 10

    maker_job = DiffusionAnalysisMaker(analysis_kwargs={"min_hops": 5}).make(runs)
    out = run_locally(maker_job, ensure_success=True)
    made = out[maker_job.uuid][1].output
    made = made if isinstance(made, DiffusionDoc) else DiffusionDoc.model_validate(made)
    assert made.provenance.parameters["min_hops"] == 5
    assert [t.T for t in made.temperatures] == [800.0, 1000.0, 1200.0]


def test_job_and_cli_read_a_folder_of_restart_chunks_alike(tmp_path):
    """The job takes what `analyze` takes (a folder whose 900 K run is two restart chunks)
    and both give the same document: one loader, one analysis."""
    from jobflow import run_locally

    from sse_flows.analysis import DiffusionDoc
    from sse_flows.analysis.jobs import analyze_diffusion_job
    from sse_flows.analysis.synthetic import arrhenius_hop_rate, random_walk_run

    for i, temperature in enumerate((700.0, 900.0)):
        run = random_walk_run(
            arrhenius_hop_rate(temperature, 0.3), temperature=temperature, n_frames=400, seed=i
        )
        data = run.as_dict(compact=False)
        if temperature == 900.0:  # two chunks; the second repeats the first's last frame
            frames = data["frac_coords"]
            for part, (start, stop) in enumerate(((0, 201), (200, 400))):
                # chunks of one run: the same run id, the second starting where the first ended
                metadata = dict(data["metadata"], run_id="run-900", step_offset=start,
                                n_steps=stop - 1 - start)
                chunk = dict(data, frac_coords=frames[start:stop], metadata=metadata)
                for key in ("energies", "kinetic_temperatures"):
                    if chunk.get(key) is not None:
                        chunk[key] = data[key][start:stop]
                (tmp_path / f"{temperature:g}K_part{part}.json").write_text(json.dumps(chunk))
        else:
            (tmp_path / f"{temperature:g}K.json").write_text(json.dumps(data))

    result = CliRunner().invoke(cli, ["analyze", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    job = analyze_diffusion_job([str(tmp_path)])
    doc = run_locally(job, ensure_success=True)[job.uuid][1].output
    doc = doc if isinstance(doc, DiffusionDoc) else DiffusionDoc.model_validate(doc)
    assert [t.T for t in doc.temperatures] == [700.0, 900.0]
    assert doc.temperatures[1].li_hops == payload["temperatures"][1]["li_hops"]
    assert doc.temperatures[1].D_cm2_s == pytest.approx(payload["temperatures"][1]["D_cm2_s"])
    assert doc.temperatures[1].duration_ps == pytest.approx(
        doc.temperatures[0].duration_ps, rel=1e-9
    )
