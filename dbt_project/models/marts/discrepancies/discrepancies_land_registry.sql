-- Discrepancies of the land registry's owner records, for the Ministry of Agriculture and
-- Environment to fix at source.
{{ discrepancy_mart('land_registry') }}
