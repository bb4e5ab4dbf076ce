{{ config(alias='citizen_attribute_versions') }}
-- marts.citizen_attribute_versions for analysts: each version's value masked by its
-- attribute's element (communes kept, dates reduced to the year, sensitive attributes left
-- out), the person by pseudonym (macros/analyst.sql).
{{ analyst_mart(
    'citizen_attribute_versions',
    attribute_column='attribute',
    value_column='value',
    extra=['(valid_to is null) as is_current'],
) }}
