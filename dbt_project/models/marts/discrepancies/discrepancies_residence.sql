-- Discrepancies of the residence agency's records, for the agency to fix at source.
{{ discrepancy_mart('residence') }}
