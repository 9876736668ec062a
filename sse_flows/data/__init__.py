"""Derived, committed datasets: training conductivities, the offline MP 2019 snapshot, the
v2 training table and the packaged MD structures.

Public loaders live in :mod:`sse_flows.data.tables` (``load_training_table``,
``load_snapshot_table``, ``snapshot_metadata``, ``training_metadata``) and
:mod:`sse_flows.data.open_data` (``load_training_v2``); the builders in
:mod:`sse_flows.data.training`, :mod:`sse_flows.data.snapshot`,
:mod:`sse_flows.data.open_data` and :mod:`sse_flows.data.structure_builders`, run together
by :func:`sse_flows.data.build.build_all` (``sse-flows data build``). See docs/data.md.
"""

from pathlib import Path

#: This package's folder: where the derived files ship and the default build output.
DATA_DIR = Path(__file__).resolve().parent
