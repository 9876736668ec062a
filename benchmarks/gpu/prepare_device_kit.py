"""Prepare what a GPU machine needs for the issue-13 checks: wheels and the OBELiX files.

The device machine (see ``docs/md.md``, "On a GPU machine") has Python 3.12, torch, e3nn,
torch_geometric, numpy, scipy and pandas, but not pymatgen, ASE, SevenNet or pydantic, and
it reaches no package index. This script writes, into ``.device_kit/`` (git-ignored):

* ``wheels/``: the wheels of :data:`WHEELS` for the machine's Python (``--python-version``),
  downloaded with ``pip download --no-deps``; SevenNet's wheel is slimmed to the one
  checkpoint the package uses (SevenNet-0, 11 Jul 2024), which keeps the kit under the
  64 MiB a call can carry;
* ``raw/obelix/``: the OBELiX tables and CIF archives that
  ``benchmarks/md_vs_experiment.py`` reads (a copy for the trip only: the folder is never
  committed).

The list is the import closure of ``benchmarks/md_throughput.py`` and of
``benchmarks/md_vs_experiment.py --md-only`` (``import sse_flows.md.batched`` pulls in no
workflow packages: ``tests/md/test_md_lean_import.py``), minus what the machine has.

Usage::

    .venv/bin/python benchmarks/gpu/prepare_device_kit.py          # Python 3.12 wheels
    .venv/bin/python benchmarks/gpu/prepare_device_kit.py --python-version 3.11 \\
        --kit /tmp/kit311    # the same kit for a local rehearsal (docs/md.md)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Distributions to carry, at the versions installed here (the versions the tests pass with).
WHEELS = (
    "annotated-types", "ase", "atomate2", "braceexpand", "matscipy", "monty", "orjson",
    "palettable", "pydantic", "pydantic-core", "pydantic-settings", "pymatgen",
    "pymatgen-core", "pymatgen-analysis-diffusion", "python-dotenv", "pytz", "ruamel.yaml",
    "sevenn", "spglib", "typing-extensions", "typing-inspection",
)

#: The one SevenNet checkpoint the package loads (``7net-0``); the wheel's others are dropped.
SEVENNET_KEEP = "sevenn/pretrained_potentials/SevenNet_0__11Jul2024/"

#: What one device call may carry, working tree included (device README).
CARRY_LIMIT_BYTES = 64 * 2**20

PLATFORMS = ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_24_x86_64",
             "manylinux_2_27_x86_64", "manylinux_2_28_x86_64", "manylinux1_x86_64"]

OBELIX_FILES = ("test.csv", "train.csv", "test_cifs.tar.gz", "train_cifs.tar.gz",
                "LICENSE.txt")


def unused_checkpoint_file(path: str) -> bool:
    """True for a file of SevenNet's pretrained folder outside :data:`SEVENNET_KEEP` (the
    folder's Python modules stay)."""
    return (path.startswith("sevenn/pretrained_potentials/")
            and not path.startswith(SEVENNET_KEEP) and not path.endswith(".py"))


def slim_sevenn(wheel: Path) -> None:
    """Rewrite SevenNet's wheel without the pretrained checkpoints other than
    :data:`SEVENNET_KEEP` (their RECORD lines go too)."""
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if unused_checkpoint_file(item.filename):
                continue
            data = src.read(item)
            if item.filename.endswith(".dist-info/RECORD"):
                kept = [line for line in data.decode().splitlines()
                        if not unused_checkpoint_file(line.split(",")[0])]
                data = ("\n".join(kept) + "\n").encode()
            dst.writestr(item, data)
    tmp.replace(wheel)


def tracked_bytes() -> int:
    """Bytes of the files git tracks (they travel with every call)."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    return sum((ROOT / n).stat().st_size for n in names if n and (ROOT / n).is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", type=Path, default=ROOT / ".device_kit")
    parser.add_argument("--python-version", default="3.12")
    parser.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "data" / "raw")
    args = parser.parse_args()

    wheels = args.kit / "wheels"
    if wheels.exists():
        shutil.rmtree(wheels)
    wheels.mkdir(parents=True)
    pins = [f"{name}=={metadata.version(name)}" for name in WHEELS]
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
               "--only-binary=:all:", "--python-version", args.python_version,
               "--implementation", "cp", "-d", str(wheels)]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    subprocess.run(command + pins, check=True)
    for wheel in wheels.glob("sevenn-*.whl"):
        slim_sevenn(wheel)
    raw = args.kit / "raw" / "obelix"
    raw.mkdir(parents=True, exist_ok=True)
    for name in OBELIX_FILES:
        shutil.copyfile(args.raw / "obelix" / name, raw / name)
    kit_bytes = sum(p.stat().st_size for p in args.kit.rglob("*") if p.is_file())
    total = kit_bytes + tracked_bytes()
    print(f"{len(pins)} wheels and the OBELiX files in {args.kit}: {kit_bytes / 2**20:.1f} MiB;"
          f" with the tracked files {total / 2**20:.1f} MiB of the {CARRY_LIMIT_BYTES // 2**20}"
          " MiB a call carries")
    if total > CARRY_LIMIT_BYTES:
        sys.exit("too large for one device call")


if __name__ == "__main__":
    main()
