"""Pure domain logic: functions over DataFrames and dataclasses, no I/O, no clock."""

from domain.arrow_isin import install as _fast_text_isin

_fast_text_isin()
