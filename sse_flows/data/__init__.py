"""Derived, committed datasets: training conductivities and the offline MP 2019 snapshot.

Public loaders live in :mod:`sse_flows.data.tables` (``load_training_table``,
``load_snapshot_table``, ``snapshot_metadata``, ``training_metadata``); the builder in
:mod:`sse_flows.data.build` (``sse-flows data build``). See docs/data.md.
"""
