"""The data quality gate's suites, as code: what the warehouse must look like each night.

- ``expectations.spec``: a check is a GX expectation, a level (``row``: quarantine the
  row; ``table``: fail the gate) and a reason; links between tables are data.
- ``expectations.suites``: one suite per unified table (``SUITES``), ``for_run``.
- ``expectations.run``: GX 1.x, an ephemeral context, one pandas batch per table, Data Docs.
- ``expectations.batches``: reading the batch frames, writing the quarantine.
- ``expectations.gate.run_gate``: all of it, without an orchestrator.

The verdict itself (pure, no GX) is ``domain.quality``; the Prefect task is
``tasks.quality.check_data_quality``. No prefect import here.
"""
