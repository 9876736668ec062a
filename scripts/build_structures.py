"""Derive the MD structures (AIMD starts, ordered LGPS, OBELiX negative controls) into
sse_flows/data/structures/ (committed)."""

from __future__ import annotations

import sys

from sse_flows.settings import get_settings
from sse_flows.sources.structures import (
    build_aimd_structures,
    build_obelix_controls,
    build_ordered_lgps,
)

if __name__ == "__main__":
    raw = sys.argv[1] if len(sys.argv) > 1 else get_settings().RAW_DATA_DIR
    for path in build_aimd_structures(raw):
        print(path)
    print(build_ordered_lgps())
    for path in build_obelix_controls(raw):
        print(path)
