-- Discrepancies of the social insurance agency's records, for the agency to fix at source.
{{ discrepancy_mart('social_insurance') }}
