{{ config(alias='citizens') }}
-- marts.citizens for analysts: personal IDs pseudonymised, names removed, dates reduced to
-- the year, by the dictionary (macros/analyst.sql).
{{ analyst_mart('citizens') }}
