{#- Date parsing that never raises: a value that is not a real calendar date in the declared
    format gives null (the staging rules then quarantine it as DATE_UNPARSEABLE).
    Only digits reach the ::int casts (the regex guarantees it) and make_date only sees
    checked parts, so '31/2/2024', '12/13/2020' or '??/5/2025' cannot fail the query.
    Each macro is one scalar subquery whose inner select is fenced with `offset 0`: without
    it PostgreSQL pulls the subquery up and runs the regex once per part[n] reference. -#}

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
        from (select regexp_match(trim({{ column }}), '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$') offset 0) as parsed (part)
    )
{%- endmacro %}

{#- The year alone ('1942'), as registers write a date of birth nobody knows the day of:
    valid data of year precision, stored as 1 January of that year (see date_precision). -#}
{% macro parse_year_only_date(column) -%}
    (
        select {{ make_date_or_null('part[1]::int', '1', '1') }}
        from (select regexp_match(trim({{ column }}), '^([0-9]{4})$') offset 0) as parsed (part)
    )
{%- endmacro %}

{#- 'year' when `column` held the year alone, 'day' when it held a full date; null when
    `parsed` (the conformed date) is null. -#}
{% macro date_precision(column, parsed) -%}
    case
        when {{ parsed }} is null then null
        when trim({{ column }}) ~ '^[0-9]{4}$' then 'year'
        else 'day'
    end
{%- endmacro %}

{#- ISO 8601 calendar date: 'YYYY-MM-DD'. -#}
{% macro parse_iso_date(column) -%}
    (
        select {{ make_date_or_null('part[1]::int', 'part[2]::int', 'part[3]::int') }}
        from (select regexp_match(trim({{ column }}), '^([0-9]{4})-([0-9]{2})-([0-9]{2})$') offset 0) as parsed (part)
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
            offset 0
        ) as parsed (part)
    )
{%- endmacro %}

{#- 'MM/YYYY' (a month, as social insurance writes contribution periods): the first day of
    that month. -#}
{% macro parse_month(column) -%}
    (
        select {{ make_date_or_null('part[2]::int', 'part[1]::int', '1') }}
        from (select regexp_match(trim({{ column }}), '^([0-9]{2})/([0-9]{4})$') offset 0) as parsed (part)
    )
{%- endmacro %}

{#- An Excel date serial number ('45123', or '45123.0' from a float cell): days since
    1899-12-30, accepted between 1 and 80000 (1900-01-01 .. 2119). -#}
{% macro parse_excel_serial_date(column) -%}
    (
        select case when part[1]::int between 1 and 80000 then date '1899-12-30' + part[1]::int end
        from (select regexp_match(trim({{ column }}), '^([0-9]{1,5})(?:[.]0+)?$') offset 0) as parsed (part)
    )
{%- endmacro %}

{#- A date from a spreadsheet cell read as text: an ISO date, an ISO date-time (a date cell
    read as a datetime: its date is kept), an Excel serial number, or d/m/yyyy typed as text.
    The formats cannot overlap, so the order only matters for speed. -#}
{% macro parse_spreadsheet_date(column) -%}
    coalesce(
        {{ parse_iso_date(column) }},
        ({{ parse_iso_timestamp(column) }})::date,
        {{ parse_excel_serial_date(column) }},
        {{ parse_dmy_date(column) }}
    )
{%- endmacro %}

{#- ISO 8601 in UTC with a 'Z' ('2025-06-28T08:15:00Z', as REST APIs send): the local
    (Asia/Ho_Chi_Minh) timestamp without time zone, comparable with the other sources'
    updated_at. Anything without the 'Z' gives null. -#}
{% macro parse_utc_timestamp(column) -%}
    (
        case
            when trim({{ column }}) like '%Z'
                then {{ parse_iso_timestamp("left(trim(" ~ column ~ "), -1)") }}
                    at time zone 'UTC' at time zone '{{ var("ndc_local_timezone") }}'
        end
    )
{%- endmacro %}
