"""sse_flows.models stage."""
