"""sse_flows.data stage."""
