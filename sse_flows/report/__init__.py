"""sse_flows.report stage."""
