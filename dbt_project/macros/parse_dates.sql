{#- Date parsing that never raises: a value that is not a real calendar date in the declared
    format gives null (the staging rules then quarantine it as DATE_UNPARSEABLE).
    Only digits reach the ::int casts (the whole value has matched its pattern first) and
    make_date only sees checked parts, so '31/2/2024', '12/13/2020' or '??/5/2025' cannot fail
    the query. The parts are cut by position (substr, split_part) after one `~` match: a
    regexp_match with capture groups costs about 25 us a value, twenty times the match and the
    cuts together (measured on 115,000 rows, PostgreSQL 18), and the staging models parse
    several dates a row. -#}

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

{#- d/m/yyyy, day first, day and month padded or not: '1/6/2025', '01/06/2025'; the
    separator may also be a dot, a dash or a space ('1.6.2025', '1-6-2025', '1 6 2025', one
    separator throughout), and a time part after the date is ignored ('01/06/2025 00:00:00',
    '1/6/2025 8:30': a date-time column exported as text).
    With partial=true (dates of birth, see date_precision), an unknown day, or day and month,
    written as zero is kept: '00/05/1990' is 1 May 1990 of month precision, '00/00/1990'
    1 January 1990 of year precision; a zero month with a day ('12/00/1990') is no date. -#}
{% macro parse_dmy_date(column, partial=false) -%}
    {%- set value = dmy_date_part(column) -%}
    {%- set day = "split_part(" ~ value ~ ", '/', 1)::int" -%}
    {%- set month = "split_part(" ~ value ~ ", '/', 2)::int" -%}
    {%- set year = "split_part(" ~ value ~ ", '/', 3)::int" -%}
    (case when {{ value }} ~ '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$' then
        {%- if partial %}
        case
            when {{ day }} = 0 and {{ month }} = 0 then {{ make_date_or_null(year, '1', '1') }}
            when {{ day }} = 0 then {{ make_date_or_null(year, month, '1') }}
            else {{ make_date_or_null(year, month, day) }}
        end
        {%- else %}
        {{ make_date_or_null(year, month, day) }}
        {%- endif %}
    end)
{%- endmacro %}

{#- The d/m/yyyy part of a value, its separator made '/' (null unless the value is a day-first
    date with one separator throughout, optionally followed by a time of day): what
    parse_dmy_date cuts. The common form ('1/6/2025') passes with one match. -#}
{% macro dmy_date_part(column) -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    (case
        when {{ value }} ~ '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$' then {{ value }}
        when {{ value }} ~ '^[0-9]{1,2}([/.\- ])[0-9]{1,2}\1[0-9]{4}([ T]([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,6})?)?)?$'
            then translate(substring({{ value }} from '^[0-9]{1,2}[/.\- ][0-9]{1,2}[/.\- ][0-9]{4}'), '.- ', '///')
    end)
{%- endmacro %}

{#- The year alone ('1942'), as registers write a date of birth nobody knows the day of:
    valid data of year precision, stored as 1 January of that year (see date_precision). -#}
{% macro parse_year_only_date(column) -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    (case when {{ value }} ~ '^[0-9]{4}$' then
        {{ make_date_or_null(value ~ "::int", '1', '1') }}
    end)
{%- endmacro %}

{#- 'year' when `column` held the year alone or a d/m/yyyy date with day and month zero,
    'month' when it held a d/m/yyyy date with the day zero ('00/05/1990'), 'day' for a full
    date; null when `parsed` (the conformed date) is null. -#}
{% macro date_precision(column, parsed) -%}
    case
        when {{ parsed }} is null then null
        when trim({{ column }}) ~ '^[0-9]{4}$' then 'year'
        when {{ dmy_date_part(column) }} ~ '^0{1,2}/0{1,2}/' then 'year'
        when {{ dmy_date_part(column) }} ~ '^0{1,2}/' then 'month'
        else 'day'
    end
{%- endmacro %}

{#- The parts of a fixed-width format, after the whole value matched its pattern. -#}
{% macro _part(value, start, length) -%}
    substr({{ value }}, {{ start }}, {{ length }})::int
{%- endmacro %}

{#- ISO 8601 calendar date: 'YYYY-MM-DD'. -#}
{% macro parse_iso_date(column) -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    (case when {{ value }} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then
        {{ make_date_or_null(_part(value, 1, 4), _part(value, 6, 2), _part(value, 9, 2)) }}
    end)
{%- endmacro %}

{#- 'YYYY-MM-DD HH:MM:SS[.ffffff]' (or with a 'T'): a local timestamp without time zone. -#}
{% macro parse_iso_timestamp(column) -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    (case
        when {{ value }} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?$'
            and {{ make_date_or_null(_part(value, 1, 4), _part(value, 6, 2), _part(value, 9, 2)) }} is not null
            and {{ _part(value, 12, 2) }} <= 23
            and {{ _part(value, 15, 2) }} <= 59
            and {{ _part(value, 18, 2) }} <= 59
            then make_timestamp(
                {{ _part(value, 1, 4) }}, {{ _part(value, 6, 2) }}, {{ _part(value, 9, 2) }},
                {{ _part(value, 12, 2) }}, {{ _part(value, 15, 2) }}, substr({{ value }}, 18)::float8
            )
    end)
{%- endmacro %}

{#- 'MM/YYYY' (a month, as social insurance writes contribution periods): the first day of
    that month. -#}
{% macro parse_month(column) -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    (case when {{ value }} ~ '^[0-9]{2}/[0-9]{4}$' then
        {{ make_date_or_null(_part(value, 4, 4), _part(value, 1, 2), '1') }}
    end)
{%- endmacro %}

{#- An Excel date serial number ('45123', or '45123.0' from a float cell): days since
    1899-12-30, accepted between 1 and 80000 (1900-01-01 .. 2119). -#}
{% macro parse_excel_serial_date(column) -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    (case
        when {{ value }} ~ '^[0-9]{1,5}([.]0+)?$'
            and split_part({{ value }}, '.', 1)::int between 1 and 80000
            then date '1899-12-30' + split_part({{ value }}, '.', 1)::int
    end)
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
