"""The ndc pages of the Airflow UI (plugins/ndc_pages.py mounts :func:`ndc.ui.app.create_app`):
reconciliation per batch, the quarantine browser, discrepancies per agency, the quality
scorecard, the sharing and access logs."""
