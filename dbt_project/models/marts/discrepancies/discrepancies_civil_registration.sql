-- Discrepancies of the civil registration agency's records, for the agency to fix at source.
{{ discrepancy_mart('civil_registration') }}
