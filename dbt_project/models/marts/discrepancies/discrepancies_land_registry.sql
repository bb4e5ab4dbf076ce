-- Discrepancies of the land registry's owner and parcel records, for the Ministry of
-- Agriculture and Environment to fix at source.
{{ discrepancy_mart('land_registry') }}
