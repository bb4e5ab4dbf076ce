"""Reliability: what faults and bad input do to the flow, measured.

- :mod:`ndc.reliability.corpus`: the bad-input corpus (files and responses) through the real
  extract and load.
- :mod:`ndc.reliability.cases`: the shape every fault-injection case shares
  (:class:`FaultCase`, :class:`CaseResult`) and how rows lost and duplicated are counted
  (:func:`row_multiset_diff`).
- :mod:`ndc.reliability.source_cases`: the source and delivery fault cases (a SQL source down
  or changing while read, an API failing or repeating a page, files sent twice, corrected or
  out of order, two ingests at once), ``python -m ndc.reliability.source_cases``.
- :mod:`ndc.reliability.faults`: the named fault points in ndc's code a case arms;
  :mod:`ndc.reliability.outage`: database cuts and the S3 gate.
- :mod:`ndc.reliability.process_cases`: the process and service cases;
  :mod:`ndc.reliability.runner`: runs cases and the soak in a stack of their own.

A fault case runs from a clean state through the real path (the scheduler, the real databases,
the landing zone), injects its fault, lets the flow recover (by Airflow's retry, or by the
operator's action the case names), and compares what the warehouse holds with a run without
the fault.
"""
