"""Reports for people: the nightly finance report, one self-contained HTML file.

Pure rendering (no I/O, no prefect): the flow's task reads the warehouse and writes the
file; :func:`render_finance_report` turns the frames into HTML whose charts are PNGs
drawn with matplotlib and embedded as ``data:`` URIs, so the file opens offline.
"""

from __future__ import annotations

from reporting.finance import SECTIONS, FinanceData, render_finance_report

__all__ = ["SECTIONS", "FinanceData", "render_finance_report"]
