-- Discrepancies of the education agency's records, for the agency to fix at source.
{{ discrepancy_mart('education') }}
