"""sse_flows.md stage."""
