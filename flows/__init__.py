"""Échéancier's Prefect flows, one module per flow and deployment."""

from flows.logmask import install as _mask_logs

_mask_logs()  # every flow's logs: no customer e-mail, no API key (flows/logmask.py)
