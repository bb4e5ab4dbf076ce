{#- Date parsing that never raises: a value that is not a real calendar date in the declared
    format gives null (the staging rules then quarantine it as DATE_UNPARSEABLE).
    Only digits reach the ::int casts (the regex guarantees it) and make_date only sees
    checked parts, so '31/2/2024', '12/13/2020' or '??/5/2025' cannot fail the query.
    Each macro is one scalar subquery, so the regex runs once per value. -#}

{% macro days_in_month(year, month) -%}
    case
        when {{ month }} in (4, 6, 9, 11) then 30
        when {{ month }} <> 2 then 31
        when {{ year }} % 4 = 0 and {{ year }} % 100 <> 0 or {{ year }} % 400 = 0 then 29
        else 28
    end
{%- endmacro %}

{% macro make_date_or_null(year, month, day) -%}
    case
        when {{ year }} between 1 and 9999
            and {{ month }} between 1 and 12
            and {{ day }} between 1 and {{ days_in_month(year, month) }}
            then make_date({{ year }}, {{ month }}, {{ day }})
    end
{%- endmacro %}

{#- d/m/yyyy, day first, day and month padded or not: '1/6/2025', '01/06/2025'. -#}
{% macro parse_dmy_date(column) -%}
    (
        select {{ make_date_or_null('part[3]::int', 'part[2]::int', 'part[1]::int') }}
        from (select regexp_match(trim({{ column }}), '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$')) as parsed (part)
    )
{%- endmacro %}

{#- ISO 8601 calendar date: 'YYYY-MM-DD'. -#}
{% macro parse_iso_date(column) -%}
    (
        select {{ make_date_or_null('part[1]::int', 'part[2]::int', 'part[3]::int') }}
        from (select regexp_match(trim({{ column }}), '^([0-9]{4})-([0-9]{2})-([0-9]{2})$')) as parsed (part)
    )
{%- endmacro %}

{#- 'YYYY-MM-DD HH:MM:SS[.ffffff]' (or with a 'T'): a local timestamp without time zone. -#}
{% macro parse_iso_timestamp(column) -%}
    (
        select
            case
                when {{ make_date_or_null('part[1]::int', 'part[2]::int', 'part[3]::int') }} is not null
                    and part[4]::int <= 23
                    and part[5]::int <= 59
                    and part[6]::numeric < 60
                    then make_timestamp(
                        part[1]::int, part[2]::int, part[3]::int,
                        part[4]::int, part[5]::int, part[6]::float8
                    )
            end
        from (
            select regexp_match(
                trim({{ column }}),
                '^([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2}(?:[.][0-9]{1,6})?)$'
            )
        ) as parsed (part)
    )
{%- endmacro %}
