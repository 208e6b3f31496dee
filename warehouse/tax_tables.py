"""Tax outputs (issue 7): VAT lines, returns, deadlines and FX rates. Filled by the tax work."""

from __future__ import annotations
