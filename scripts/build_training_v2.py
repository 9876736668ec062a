"""Derive ``sse_flows/data/training_v2.csv`` (Kang 2023 + Xu 2020 + OBELiX train).

Also writes ``training_v2_structures.csv``: the structure features of the training rows
that have an OBELiX train CIF (density, volume per atom, Li-Li and Li-anion distances).

Deterministic (a rebuild gives byte-identical files); removes every composition within
1e-3 atomic fraction of an OBELiX test composition (see :mod:`sse_flows.data.open_data`)::

    python scripts/build_training_v2.py [--raw DIR] [--out DIR]
"""

from __future__ import annotations

import argparse

from sse_flows.data.open_data import build_training_v2_files, build_training_v2_structures_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", default=None, help="raw data folder (default: settings)")
    parser.add_argument("--out", default=None, help="output folder (default: sse_flows/data)")
    args = parser.parse_args()
    digests = build_training_v2_files(args.raw, args.out)
    digests.update(build_training_v2_structures_file(args.raw, args.out))
    for name, digest in digests.items():
        print(f"{name}  sha256 {digest}")


if __name__ == "__main__":
    main()
