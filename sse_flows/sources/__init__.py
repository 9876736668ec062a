"""Materials sources: the offline MP snapshot (default) and the live MP API."""
