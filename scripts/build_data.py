"""Rebuild the derived data of ``sse_flows/data/`` from ``../shared/data/raw``.

Same as ``sse-flows data build``; kept as a script for environments without the console
entry point::

    python scripts/build_data.py [--raw DIR] [--out DIR] [--only training,snapshot,...]
"""

from __future__ import annotations

import argparse

from sse_flows.data.build import BUILDERS, build_all, select_builders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", default=None, help="raw data folder (default: settings)")
    parser.add_argument("--out", default=None, help="output folder (default: sse_flows/data)")
    parser.add_argument(
        "--only", default=None, help=f"comma list of {', '.join(BUILDERS)} (default: all)"
    )
    args = parser.parse_args()
    try:
        only = select_builders(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    for name, digest in build_all(args.raw, args.out, only=only).items():
        print(f"{name}  sha256 {digest}")


if __name__ == "__main__":
    main()
