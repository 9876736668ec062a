"""sse_flows.features stage."""
