-- Discrepancies of the business registry agency's records, for the agency to fix at source.
{{ discrepancy_mart('business_registry') }}
