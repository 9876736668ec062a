"""The HTML report of a discovery run (figures + self-contained page).

Public API::

    from sse_flows.report import ReportInputs, write_report

    inputs = ReportInputs.from_documents(screening=..., votes=..., ranking=...)
    index_html = write_report(inputs, out_dir)
"""

from sse_flows.report.html import write_report
from sse_flows.report.inputs import ReportInputError, ReportInputs

__all__ = ["ReportInputError", "ReportInputs", "write_report"]
