"""sse-flows: discover superionic Li-ion solid-state electrolytes with jobflow and FireWorks."""

__version__ = "0.1.0"
