"""sse_flows.screening stage."""
