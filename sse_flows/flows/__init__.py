"""sse_flows.flows stage."""
