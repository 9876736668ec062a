"""sse_flows.analysis stage."""
