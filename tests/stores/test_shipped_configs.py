"""The shipped FireWorks/jobflow files load into the real FireWorks and jobflow objects."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_qadapter_is_a_slurm_common_adapter_that_sets_the_vasp_command():
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    adapter = CommonAdapter.from_file(str(ROOT / "my_qadapter.yaml"))
    assert adapter.q_type == "SLURM"
    assert "ATOMATE2_VASP_CMD" in adapter["pre_rocket"]
    assert "my_fworker_md.yaml" in adapter["rocket_launch"]
    script = adapter.get_script_str(".")
    assert "#SBATCH --nodes=1" in script and "ATOMATE2_VASP_CMD" in script


def test_fworkers_split_python_and_md_categories():
    from fireworks import FWorker

    python = FWorker.from_file(str(ROOT / "my_fworker.yaml"))
    md = FWorker.from_file(str(ROOT / "my_fworker_md.yaml"))
    assert python.category == "python" and md.category == "md"
    assert python.query["spec._category"] == "python"


def test_launchpad_yamls_load_and_jobflow_yaml_builds_mongo_and_gridfs_jobstore():
    from fireworks import LaunchPad
    from jobflow import JobStore
    from maggma.stores import GridFSStore, MongoStore
    from monty.serialization import loadfn

    lpad = LaunchPad.from_file(str(ROOT / "launchpad" / "my_launchpad.yaml"))
    assert lpad.uri_mode and lpad.name == "sse_flows"
    spec = loadfn(ROOT / "launchpad" / "jobflow.yaml")["JOB_STORE"]
    store = JobStore.from_dict_spec(spec)
    assert isinstance(store.docs_store, MongoStore)
    assert isinstance(store.additional_stores["data"], GridFSStore)


def test_config_jobflow_yaml_round_trips_to_the_same_store(sse_home):
    import yaml
    from click.testing import CliRunner
    from jobflow import JobStore

    from sse_flows.cli import cli

    result = CliRunner().invoke(cli, ["config", "--jobflow-yaml"])
    assert result.exit_code == 0, result.output
    store = JobStore.from_dict(yaml.safe_load(result.output)["JOB_STORE"])
    assert store.docs_store.database_path == str(sse_home / "stores" / "jobstore")


def test_gpu_worker_and_qadapter_take_the_batched_md_category():
    from fireworks import FWorker
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    from sse_flows.flows.md_validation import GPU_CATEGORY

    gpu = FWorker.from_file(str(ROOT / "my_fworker_gpu.yaml"))
    assert gpu.category == GPU_CATEGORY and gpu.query["spec._category"] == GPU_CATEGORY
    adapter = CommonAdapter.from_file(str(ROOT / "my_qadapter_gpu.yaml"))
    assert "my_fworker_gpu.yaml" in adapter["rocket_launch"]
    assert "#SBATCH --gres=gpu:1" in adapter.get_script_str(".")
