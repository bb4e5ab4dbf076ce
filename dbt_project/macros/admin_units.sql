{#- Administrative codes carry their code system: 2025 codes reuse legacy codes for other
    places (docs/domain.md#codes-were-reused-a-bare-code-is-ambiguous), so the system never comes from the code's shape. It comes from the
    row's date (the dictionary's transition legacy-until-2025-07-01,
    include/dictionary/code_lists/admin_units_legacy_to_2025.yaml) and from the row's
    structure: the 2025 system has two levels (province, commune), so a row that still names
    a district is a legacy address, whatever its date (a system not yet switched over). -#}
{% macro admin_code_system(date_column, district_column=none, switch_date='2025-07-01') -%}
    case
        when {{ date_column }} < date '{{ switch_date }}' then 'legacy'
        {%- if district_column %}
        when {{ conform_text(district_column) }} is not null then 'legacy'
        {%- endif %}
        when {{ date_column }} >= date '{{ switch_date }}' then '2025'
    end
{%- endmacro %}

{#- The code system of a source's administrative codes as its registry file declares it
    (code_lists.administrative_units; `admin_units` of macros/registry.sql): 'legacy' or
    '2025' for every row, or, under a transition, the row's by its date and district. -#}
{% macro declared_admin_code_system(declared, date_column=none, district_column=none) -%}
    {%- if declared is none -%}
        {{ exceptions.raise_compiler_error("no code_lists.administrative_units declared (include/sources/<source>.yaml)") }}
    {%- elif declared.system == 'transition' -%}
        {{ admin_code_system(date_column, district_column, declared.switch_date) }}
    {%- else -%}
        '{{ declared.system }}'::text
    {%- endif -%}
{%- endmacro %}

{#- The official conversion, one row per legacy ward: how many 2025 communes it became, the one
    when it became exactly one, and its communes (comma-separated, for a split ward's report). -#}
{% macro legacy_ward_conversions() -%}
    select
        legacy_ward_code,
        count(distinct new_commune_code) as new_commune_count,
        min(new_commune_code) as new_commune_code,
        string_agg(new_commune_code, ', ' order by new_commune_code) as new_commune_codes
    from {{ ref('admin_units_legacy_to_2025') }}
    group by legacy_ward_code
{%- endmacro %}

{#- Where a row may give its administrative unit, for convert_admin_unit and
    check_admin_unit: `field` the source column (as the quarantine and the reports name it),
    `code` the SQL of the code it gives, `system` the SQL of that code's system, `given` the SQL
    that is true when the row gives its unit there (default: the code is present) and `value`
    the SQL of the value as received (quarantine_value; default: the code). -#}
{% macro admin_place(field, code, system, given=none, value=none) -%}
    {{ return({'field': field, 'code': code, 'system': system,
               'given': given or (code ~ ' is not null'), 'value': value or code}) }}
{%- endmacro %}

{#- A free-text address in legacy names, standardised offline by the extractor to the legacy
    ward it names (ndc.extract.xml: `ward_code`, with `status` matched or unmatched): a
    legacy ward when matched. -#}
{% macro admin_address_place(field, ward_code, status, value=none) -%}
    {%- set place = admin_place(field, ward_code, "'legacy'::text", given=status ~ " = 'matched'", value=value or field) -%}
    {%- do place.update({'status': status}) -%}
    {{ return(place) }}
{%- endmacro %}

{#- The rows of `relation` (a CTE) with their administrative unit in the 2025 system. The row's
    unit is the first of `places` (admin_place, admin_address_place) the row gives. Adds:
      admin_code_system           its code's system ('legacy', '2025'; null when no place is
                                  given or the system cannot be told, as for a missing date);
      commune_code_2025           a 2025 code that is a 2025 commune, or the one commune a
                                  legacy ward became (seed admin_units_legacy_to_2025);
                                  null otherwise: never guessed;
      admin_conversion_ambiguous  true for a legacy ward split between several 2025 communes
                                  (docs/domain.md#converting-legacy-wards-to-2025-communes-flag-dont-guess),
                                  false for a legacy ward that became one and for a 2025 code,
                                  null when the legacy ward is unknown or no system;
    and, for check_admin_unit: _admin_field (the place's source column), _admin_code (its
    code) and _admin_code_known (false when the code is no unit of its system; a 2025 code that
    is no 2025 commune but a split legacy ward counts as known: a stale legacy code whose
    commune cannot be told, reported as admin_unit_ambiguous, not quarantined). -#}
{% macro convert_admin_unit(relation, places) -%}
    select
        placed.*,
        case
            when placed.admin_code_system = 'legacy' and legacy_wards.new_commune_count = 1
                then legacy_wards.new_commune_code
            when placed.admin_code_system = '2025' then communes_2025.commune_code
        end as commune_code_2025,
        case
            when placed.admin_code_system = 'legacy' then legacy_wards.new_commune_count > 1
            when placed.admin_code_system = '2025' then false
        end as admin_conversion_ambiguous,
        case
            when placed._admin_code is null then null
            when placed.admin_code_system = 'legacy' then legacy_wards.legacy_ward_code is not null
            when placed.admin_code_system = '2025'
                then communes_2025.commune_code is not null or coalesce(legacy_wards.new_commune_count > 1, false)
        end as _admin_code_known
    from (
        select
            {{ relation }}.*,
            case
                {%- for p in places %}
                when {{ p.given }} then '{{ p.field }}'
                {%- endfor %}
            end as _admin_field,
            case
                {%- for p in places %}
                when {{ p.given }} then {{ p.code }}
                {%- endfor %}
            end as _admin_code,
            case
                {%- for p in places %}
                when {{ p.given }} then {{ p.system }}
                {%- endfor %}
            end as admin_code_system
        from {{ relation }}
    ) as placed
    left join ({{ legacy_ward_conversions() }}) as legacy_wards
        on legacy_wards.legacy_ward_code = placed._admin_code
    left join {{ ref('admin_units_2025_communes') }} as communes_2025
        on communes_2025.commune_code = placed._admin_code
{%- endmacro %}

{#- The quarantine checks (macros/quarantine.sql) of a unit converted by convert_admin_unit:
    with `unknown`, a code that is no unit of its system (CODE_UNKNOWN); a free-text address
    the extractor could not standardise to one ward, when no other place is given
    (ADMIN_ADDRESS_UNMATCHED); with `required`, a row giving no place at all (an address
    place's ADMIN_ADDRESS_UNMATCHED, else CODE_UNKNOWN). -#}
{% macro check_admin_unit(places, required=false, unknown=true) -%}
    {%- set checks = [] -%}
    {%- if unknown -%}
        {%- for p in places if 'status' not in p -%}
            {%- do checks.append({"when": "_admin_field = '" ~ p.field ~ "' and not _admin_code_known",
                                  "reason": "CODE_UNKNOWN", "field": p.field, "value": p.value}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set addresses = [] -%}
    {%- for p in places if 'status' in p -%}{%- do addresses.append(p) -%}{%- endfor -%}
    {%- if required -%}
        {%- set p = (addresses or places) | first -%}
        {%- do checks.append({"when": "_admin_field is null",
                              "reason": "ADMIN_ADDRESS_UNMATCHED" if addresses else "CODE_UNKNOWN",
                              "field": p.field, "value": p.value}) -%}
    {%- else -%}
        {%- for p in addresses -%}
            {%- do checks.append({"when": "_admin_field is null and " ~ p.status ~ " = 'unmatched'",
                                  "reason": "ADMIN_ADDRESS_UNMATCHED", "field": p.field, "value": p.value}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(checks) }}
{%- endmacro %}
