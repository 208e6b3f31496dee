"""No customer e-mail and no API key in any log line, whoever writes it.

A provider SDK's debug line, an exception from a template, a ``print`` under
``log_prints``: any of them can carry ``jane.doe@example.com`` or ``sk_live_…`` into
the Prefect UI, where logs are kept for months. Masking at each call site misses the
next one, so :func:`install` wraps the process's log-record factory once: every record
is masked as it is made, before any handler (console, Prefect's API handler, a file)
sees it. Example: ``"reminder to jane.doe@example.com failed"`` is logged as
``"reminder to j***@example.com failed"``; ``"key sk_test_51Hx…"`` as ``"key sk_test_***"``.

The domain is kept (a bounce storm at one provider stays visible); the local part and
every secret's body are not. Installed by ``flows/__init__.py``, so by every flow.
"""

from __future__ import annotations

import logging
import re
from typing import Any

EMAIL = re.compile(r"(?<![\w.+'-])([A-Za-z0-9])[A-Za-z0-9._%+'-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
SECRETS = re.compile(
    r"\b(sk_live_|sk_test_|rk_live_|rk_test_|whsec_|SG\.|live_|sandbox_)[A-Za-z0-9_\-.]{8,}"
)
BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9_\-.=]{8,}")


def mask(text: str) -> str:
    """``text`` with e-mail local parts and secret bodies replaced by ``***``."""
    if "@" in text:
        text = EMAIL.sub(r"\1***@\2", text)
    text = SECRETS.sub(r"\1***", text)
    return BEARER.sub(r"\1***", text)


def _masked_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it later, as usual
        return record
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    return record


_installed = False


def install() -> None:
    """Mask every log record this process makes from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _masked_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
