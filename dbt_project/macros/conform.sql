{#- Conforming text to the dictionary. -#}

{#- A code or identifier as received, trimmed; empty becomes null. -#}
{% macro conform_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- A name: Unicode NFC (Windows-1258 sources decode to base letter + combining mark),
    whitespace trimmed and collapsed to single spaces; empty becomes null. Case and marks are
    kept as received. -#}
{% macro conform_name(column) -%}
    nullif(trim(regexp_replace(normalize(trim({{ column }}), nfc), '[[:space:]]+', ' ', 'g')), '')
{%- endmacro %}

{#- The matching key of a person's name (docs/domain.md#matching-key): no tone or vowel marks, Đ -> D, upper
    case, single spaces. The name is decomposed (NFD: every Vietnamese letter is its base letter
    followed by its marks) and one translate() removes the eight combining marks Vietnamese
    letters decompose into (grave, acute, tilde, hook above, dot below, breve, circumflex,
    horn) and maps đ/Đ, which do not decompose, to d/D: no dependence on the server's locale or
    extensions. A translate() of each of the 134 precomposed letters to its base letter gave
    the same keys (checked on 1.8 million names) at 12 us a name instead of 5: translate()
    scans its list for every character. -#}
{% macro name_match_key(column) -%}
    upper(translate(normalize(nullif(trim(regexp_replace(trim({{ column }}), '[[:space:]]+', ' ', 'g')), ''), nfd),
        'đĐ' || U&'\0300\0301\0303\0309\0323\0306\0302\031B', 'dD'))
{%- endmacro %}

{#- The row's load date in local time: the "today" a source date is compared with. -#}
{% macro local_load_date(loaded_at='_loaded_at') -%}
    ({{ loaded_at }} at time zone '{{ var("ndc_local_timezone") }}')::date
{%- endmacro %}

{#- The row's load time in local time (timestamp without time zone), comparable with source
    timestamps such as social insurance updated_at. -#}
{% macro local_load_timestamp(loaded_at='_loaded_at') -%}
    ({{ loaded_at }} at time zone '{{ var("ndc_local_timezone") }}')
{%- endmacro %}

{#- A code from a closed list given in the model: the trimmed value when listed, else null
    (then quarantined as CODE_UNKNOWN). For lists with labels, use a seed and a join. -#}
{% macro conform_code(column, codes) -%}
    case
        when trim({{ column }}) in ({% for code in codes %}'{{ code }}'{% if not loop.last %}, {% endif %}{% endfor %})
            then trim({{ column }})
    end
{%- endmacro %}

{#- A source's coded values and the dictionary's code for each (columns source_value, code),
    through the code-list version the source declares in include/sources/<source>.yaml
    (code_lists.<code_list>); seed source_code_map is generated from those declarations. Join
    on the value trimmed and NFC; a value with no match is quarantined as CODE_UNKNOWN. -#}
{% macro declared_code_map(source, code_list) -%}
    select source_value, code
    from {{ ref('source_code_map') }}
    where source = '{{ source }}' and code_list = '{{ code_list }}'
{%- endmacro %}

{#- A coded value as the declared code map is keyed: trimmed, NFC. -#}
{% macro code_lookup_value(column) -%}
    normalize(trim({{ column }}), nfc)
{%- endmacro %}

{#- Ends a CTE whose columns are costly expressions (name repair, date parsing, lookups) that
    later CTEs use several times: `offset 0` keeps PostgreSQL from pulling the CTE up into
    its readers, which would evaluate each expression again at every use (a name repaired
    nine times a row, a date parsed seven times). The values are computed once per row and
    read as plain columns. -#}
{% macro evaluate_once() -%}
    offset 0
{%- endmacro %}
