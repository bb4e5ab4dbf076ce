"""``ndc evaluate``: how well the pipeline handles every injected defect, against the truth.

Three modules:

- :mod:`ndc.evaluate.score` is pure: the generator's truth (``truth/defects.parquet``) and the
  pipeline's outputs as DataFrames in, the per-class and clean-record scores out.
- :mod:`ndc.evaluate.outputs` pulls those outputs from a warehouse, per the shared output
  contract (staging views, ``quarantine.quarantined_rows``, ``quarantine.merged_duplicates``,
  ``marts.discrepancies_<source>``). A relation that does not exist yet is reported, not fatal.
- :mod:`ndc.evaluate.pipeline` runs the whole flow through Airflow on a country, into
  databases, a landing zone and an Airflow of its own (never the user's).

Record keys: the truth's ``record_key`` is each entity's source key (e.g. ``so_dang_ky`` of a
birth, ``id`` of a household member), which staging calls ``record_key``, trimmed.
"""
