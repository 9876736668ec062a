"""Input cases beside the catalogue: what ``predict``, ``submit``/``train`` and the readers do
with an unwritable model cache, a training table too small to split, repeated or mistyped
formulas, hydrates and a read-only SSE_FLOWS_HOME.

The ``predict`` cases fit a real (tiny) open-recipe ensemble: 60 rows of the packaged table,
two members per algorithm, one job (a few seconds).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sse_flows.cli import cli

HERE = Path(__file__).resolve().parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

#: one input per formula case; the adducts and the typo cannot be featurized
POOL = ["Li3PS4", "Li3PS4", "Li6P2S8", "LI3PS4", "LiCl·H2O", "LiCl.H2O", "LiCl*H2O", "Li6PS5Cl"]


def _use_home(monkeypatch, home: Path) -> None:
    from sse_flows.settings import reset_settings

    monkeypatch.setenv("SSE_FLOWS_HOME", str(home))
    for var in ("SSE_FLOWS_MONGODB_URI", "SSE_FLOWS_CONFIG_FILE", "SSE_FLOWS_MP_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    reset_settings()


def _training_table(path: Path, rows_per_class: int) -> Path:
    """``rows_per_class`` superionic and non-superionic rows of the packaged table."""
    from sse_flows.data.tables import load_training_table

    table = load_training_table()
    parts = [table[table["label"] == label].iloc[::3].head(rows_per_class) for label in (0, 1)]
    pd.concat(parts)[["formula", "sigma_S_cm"]].to_csv(path, index=False)
    return path


def _predict_args(pool: Path, output: Path, training: Path) -> list[str]:
    return ["predict", str(pool), "-o", str(output), "--training", str(training),
            "--splits", "2", "--n-jobs", "1"]  # fmt: skip


def _files(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` ("nothing lost, nothing written")."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def prediction(tmp_path_factory):
    """One ``predict --json`` of :data:`POOL` in a fresh home: (result, output table)."""
    root = tmp_path_factory.mktemp("predict")
    training = _training_table(root / "training.csv", 30)
    pool = root / "pool.csv"
    pd.DataFrame({"formula": POOL, "row_id": range(len(POOL))}).to_csv(pool, index=False)
    output = root / "predictions.csv"
    patch = pytest.MonkeyPatch()
    try:
        _use_home(patch, root / "home")
        result = CliRunner().invoke(cli, [*_predict_args(pool, output, training), "--json"])
    finally:
        patch.undo()
        from sse_flows.settings import reset_settings

        reset_settings()
    assert result.exit_code == 0, result.output
    return result, pd.read_csv(output, keep_default_na=False)


# --------------------------------------------------------------------------------------
# predict with an unwritable model cache
# --------------------------------------------------------------------------------------
def test_predict_delivers_its_predictions_when_the_model_cache_cannot_be_written(
    sse_home, tmp_path, monkeypatch
):
    """$SSE_FLOWS_HOME/models read-only, the home writable: the models are fitted, the
    predictions written, and one warning names the folder; no partial cache file."""
    import joblib

    training = _training_table(tmp_path / "training.csv", 30)
    pool = tmp_path / "pool.csv"
    pool.write_text("formula\nLi3PS4\nLi7La3Zr2O12\n")
    output = tmp_path / "predictions.csv"
    models = sse_home / "models"
    models.mkdir(parents=True)
    models.chmod(0o555)
    dump = joblib.dump

    def read_only_dump(value, filename, *args, **kwargs):
        """The models folder refuses files as a read-only mount would (root included)."""
        if Path(filename).resolve().parent == models.resolve():
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(filename))
        return dump(value, filename, *args, **kwargs)

    monkeypatch.setattr(joblib, "dump", read_only_dump)
    try:
        result = CliRunner().invoke(cli, [*_predict_args(pool, output, training), "--json"])
    finally:
        models.chmod(0o755)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert pd.read_csv(output)["formula"].tolist() == ["Li3PS4", "Li7La3Zr2O12"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1, result.stderr
    assert f"could not be cached in {models}" in warnings[0] and "--no-cache" in warnings[0]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert str(models) in summary["cache_problem"]
    assert list(models.iterdir()) == []  # no half-written cache file


# --------------------------------------------------------------------------------------
# a training table too small for the split protocol: refused before any work
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [["submit"], ["train", "--algorithms", "gnb"],
     ["predict", "{tmp}/pool.csv", "-o", "{tmp}/out.csv"]],
    ids=["submit", "train", "predict"],
)  # fmt: skip
def test_a_training_table_too_small_to_split_is_refused_before_any_work(
    command, sse_home, tmp_path
):
    """Five rows: exit 2 naming the file, the rule and the counts; nothing is submitted,
    trained or written (the worker used to fizzle on it 10 s later)."""
    training = tmp_path / "five_rows.csv"
    training.write_text(
        "formula,sigma_S_cm\nLi3PS4,1e-3\nLi7La3Zr2O12,2e-4\nLi3PO4,1e-9\nLi2O,1e-10\n"
        "LiCl,1e-8\n"
    )
    (tmp_path / "pool.csv").write_text("formula\nLi3PS4\n")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    before = _files(tmp_path)
    result = CliRunner().invoke(cli, [*args, "--training", str(training)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"'--training': {training}: the training table has 2 superionic and 3" in result.output
    assert "needs at least 10 of each" in result.output
    assert _files(tmp_path) == before  # no home, no LaunchPad, no output


def test_the_flow_maker_applies_the_same_training_rule(tmp_path):
    """A Python user gets the rule of ``submit --training`` from DiscoveryFlowMaker."""
    from sse_flows.flows.discovery import DiscoveryFlowMaker
    from sse_flows.validation import ParameterError

    training = _training_table(tmp_path / "small.csv", 4)
    with pytest.raises(ParameterError, match="4 superionic and 4 non-superionic"):
        DiscoveryFlowMaker(training_path=str(training))


def test_a_training_row_with_a_mistyped_formula_is_named_with_the_fix(sse_home, tmp_path):
    training = tmp_path / "typo.csv"
    _training_table(training, 12)
    training.write_text(training.read_text() + "LI3PS4,1e-3\n")
    result = CliRunner().invoke(cli, ["submit", "--training", str(training)])
    assert result.exit_code == 2, result.output
    assert "line 26: unparseable formula" in result.output
    assert "did you mean Li3PS4?" in result.output


# --------------------------------------------------------------------------------------
# predict: duplicates, typos, hydrates
# --------------------------------------------------------------------------------------
def test_predict_keeps_duplicate_rows_and_says_how_many(prediction):
    """Li3PS4 twice and Li6P2S8 (the same composition): kept, one note with the count."""
    result, table = prediction
    assert table["formula"].tolist() == POOL  # one output row per input row
    assert table["row_id"].tolist() == list(range(len(POOL)))
    same = table.iloc[:3]
    assert same["p_superionic"].nunique() == 1 and same["log10_sigma"].nunique() == 1
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note:")]
    assert len(notes) == 1, result.stderr
    assert notes[0].startswith("Note: 2 row(s) repeat the composition of an earlier row")
    assert "'Li3PS4' (row 1) again in row(s) 2, 3" in notes[0] and "kept" in notes[0]
    assert json.loads(result.stdout.strip().splitlines()[-1])["n_duplicates"] == 2


def test_predict_suggests_the_formula_of_a_case_typo(prediction):
    _, table = prediction
    error = table.loc[table["formula"] == "LI3PS4", "error"].item()
    assert "unknown element 'L'; did you mean Li3PS4?" in error


@pytest.mark.parametrize("formula", ["LiCl·H2O", "LiCl.H2O", "LiCl*H2O"])
def test_predict_names_the_fix_for_a_hydrate(prediction, formula):
    _, table = prediction
    error = table.loc[table["formula"] == formula, "error"].item()
    assert "hydrates and adducts (A·nB, A.B, A*B) are not supported" in error
    assert "one formula (LiH2ClO) or drop the water (LiCl)" in error


@pytest.mark.parametrize(
    ("formula", "fragment"),
    [
        ("li3ps4", "did you mean Li3PS4?"),
        ("LiCL", "did you mean LiCl?"),
        ("LICOO2", "did you mean LiCoO2 or LiCOO2?"),  # fewer symbols first
        ("LIPON", "did you mean LiPON or LiPoN?"),  # a rare element (Po) last
        ("LI7LA3ZR2O12", "did you mean Li7La3Zr2O12?"),
        ("Li3PO4·0.5H2O", "one formula (Li3PHO4.5) or drop the water (Li3PO4)"),
        ("LiCl·NaCl", "one formula (NaLiCl2) or drop NaCl (LiCl)"),
        ("Li2O·Xx", "not supported, and 'Xx' is not a formula either (unknown element 'Xx')"),
    ],
)
def test_formula_messages_name_the_likely_formula(formula, fragment):
    from sse_flows.data.formulas import FormulaError, parse_formula

    with pytest.raises(FormulaError) as raised:
        parse_formula(formula)
    assert fragment in raised.value.reason


# --------------------------------------------------------------------------------------
# a read-only SSE_FLOWS_HOME: the commands that only read run
# --------------------------------------------------------------------------------------
def _read_only_runner(tmp_path: Path):
    """How to run a command on a read-only folder: a read-only bind mount in a private
    mount namespace (root with CAP_SYS_ADMIN), else file modes (non-root); None: neither."""
    probe = tmp_path / "mount_probe"
    probe.mkdir()
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && ! touch "$1/x"'
    if shutil.which("unshare"):
        done = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(probe)],
                              capture_output=True, timeout=30)  # fmt: skip
        if done.returncode == 0:
            wrapper = ('mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift '
                       '&& exec "$@"')  # fmt: skip

            def run(home: Path, args: list[str], env: dict) -> subprocess.CompletedProcess:
                command = ["unshare", "-m", "sh", "-c", wrapper, "sh", str(home),
                           sys.executable, "-m", "sse_flows.cli", *args]  # fmt: skip
                return subprocess.run(command, env=env, capture_output=True, text=True,
                                      timeout=300)  # fmt: skip

            return run
    if not IS_ROOT:

        def run(home: Path, args: list[str], env: dict) -> subprocess.CompletedProcess:
            modes = {path: path.stat().st_mode for path in (home, *home.rglob("*"))}
            for path in modes:
                path.chmod(modes[path] & ~0o222)
            try:
                return subprocess.run([sys.executable, "-m", "sse_flows.cli", *args], env=env,
                                      capture_output=True, text=True, timeout=300)  # fmt: skip
            finally:
                for path, mode in modes.items():
                    path.chmod(mode)

        return run
    return None


@pytest.fixture()
def completed_home(tmp_path, monkeypatch):
    """A home with one finished two-job workflow (the catalogue's *completed*)."""
    monkeypatch.syspath_prepend(str(HERE))
    from quick_jobs import chain

    from sse_flows.launcher import run_worker, submit_flow

    home = tmp_path / "home"
    _use_home(monkeypatch, home)
    logs = tmp_path / "logs"
    logs.mkdir()
    submit_flow(chain([("first", 0.0), ("second", 0.0)], str(logs)))
    run_worker(progress=False)
    return home


def test_readers_run_on_a_read_only_home(completed_home, tmp_path):
    """status, results and report -o read a read-only home; nothing in it changes. Writers
    are still refused before work, and report without -o says to use -o."""
    run = _read_only_runner(tmp_path)
    if run is None:
        pytest.skip("needs a mount namespace (unshare -m) or a non-root user")
    env = {**os.environ, "SSE_FLOWS_HOME": str(completed_home)}
    before = _files(completed_home)
    report_dir = tmp_path / "report"
    outcomes = {
        name: run(completed_home, args, env)
        for name, args in {
            "status": ["status"],
            "results": ["results"],
            "report-o": ["report", "-o", str(report_dir)],
            "report": ["report"],
            "worker": ["worker"],
        }.items()
    }
    for name, done in outcomes.items():
        assert "Traceback" not in done.stdout + done.stderr, (name, done.stderr)
    assert outcomes["status"].returncode == 0, outcomes["status"].stderr
    assert "COMPLETED" in outcomes["status"].stdout
    assert outcomes["results"].returncode == 0, outcomes["results"].stderr
    assert "workflow 1 is COMPLETED" in outcomes["results"].stdout
    assert outcomes["report-o"].returncode == 0, outcomes["report-o"].stderr
    assert (report_dir / "index.html").is_file()
    assert outcomes["report"].returncode == 2
    assert "cannot be written" in outcomes["report"].stderr
    assert "write the report elsewhere with -o FOLDER" in outcomes["report"].stderr
    assert outcomes["worker"].returncode == 2 and "cannot be written" in outcomes["worker"].stderr
    assert _files(completed_home) == before


def test_status_on_an_empty_read_only_home_says_nothing_was_submitted(tmp_path):
    run = _read_only_runner(tmp_path)
    if run is None:
        pytest.skip("needs a mount namespace (unshare -m) or a non-root user")
    home = tmp_path / "empty_home"
    home.mkdir()
    env = {**os.environ, "SSE_FLOWS_HOME": str(home)}
    for var in ("SSE_FLOWS_MONGODB_URI", "SSE_FLOWS_CONFIG_FILE"):
        env.pop(var, None)
    done = run(home, ["status"], env)
    assert done.returncode == 1, done.stderr
    assert f"No discovery workflow in SSE_FLOWS_HOME={home}" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(home.iterdir()) == []


@pytest.mark.parametrize("command", ["status", "results"])
def test_reading_an_empty_home_creates_nothing(tmp_path, command):
    home = tmp_path / "empty_home"
    env = {**os.environ, "SSE_FLOWS_HOME": str(home)}
    for var in ("SSE_FLOWS_MONGODB_URI", "SSE_FLOWS_CONFIG_FILE"):
        env.pop(var, None)
    done = subprocess.run([sys.executable, "-m", "sse_flows.cli", command], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert f"No discovery workflow in SSE_FLOWS_HOME={home}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not home.exists()

