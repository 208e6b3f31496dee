"""VAT, OSS and CA3: lines from the facts, returns with corrections, deadlines, files.

Pure functions over DataFrames and dataclasses (no I/O, no clock, no prefect):

- ``policy``: dated VAT rates and the tax calendar, from ``policies/*.yaml``;
- ``lines``: VAT lines from invoices, payments with no tax breakdown and refunds;
- ``fx``: ECB reference rates and the art. 369h choice of rate;
- ``ledger``: lines placed in the open returns, corrections of filed ones, the sums
  and their tie-out, the deadlines;
- ``threshold``: the EUR 10 000 OSS threshold per calendar year;
- ``reminders``: finance's reminders before each deadline, as outbox notices;
- ``sheets``: the CSV and XLSX bytes of a return;
- ``report``: what a run did (``TaxReport.text()``).

docs/tax.md explains the method and its limits.
"""

from domain.tax.fx import FxError, FxRate, FxTable, parse_ecb_csv
from domain.tax.ledger import Ledger, ReturnKey, TieOutError, build_ledger
from domain.tax.lines import Facts, Problem, supply_lines
from domain.tax.policy import (
    PolicyError,
    TaxCalendar,
    VatRates,
    load_tax_calendar,
    load_vat_rates,
)
from domain.tax.report import ReturnSummary, TaxReport

__all__ = [
    "Facts",
    "FxError",
    "FxRate",
    "FxTable",
    "Ledger",
    "PolicyError",
    "Problem",
    "ReturnKey",
    "ReturnSummary",
    "TaxCalendar",
    "TaxReport",
    "TieOutError",
    "VatRates",
    "build_ledger",
    "load_tax_calendar",
    "load_vat_rates",
    "parse_ecb_csv",
    "supply_lines",
]
