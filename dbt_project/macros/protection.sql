{#- Grants on the tables dbt builds, as post-hooks: dbt drops and recreates a table (a full
    refresh, a table model's every build), so a grant or policy given once would be lost. A
    hook runs in the build's transaction, so a rebuilt table is never readable without its
    policy. The roles are created by the bootstrap (include/ndc/protection.py); on a warehouse
    without them (a bare `dbt build`) nothing is granted. README.md, "Protection". -#}

{#- SELECT on this model to `role`, when the role exists. -#}
{% macro grant_select_if_role(role) -%}
do $grant$ begin
    if exists (select from pg_roles where rolname = '{{ role }}') then
        grant select on {{ this }} to {{ adapter.quote(role) }};
    end if;
end $grant$
{%- endmacro %}

{#- A discrepancy mart (marts.discrepancies_<source>) to its agency's role only. -#}
{% macro grant_to_agency() -%}
{{ grant_select_if_role('ndc_agency_' ~ this.identifier | replace('discrepancies_', '', 1)) }}
{%- endmacro %}

{#- A table shared by every source (its `source` column: the quarantine tables): each
    agency's role reads its own rows only (row-level security), whichever roles the reader
    holds; the owner (the transformer) and superusers are not subject to it. -#}
{% macro protect_agency_rows() -%}
alter table {{ this }} enable row level security;
drop policy if exists agency_rows on {{ this }};
create policy agency_rows on {{ this }} for select using (
    source = any (array(
        select substr(r.rolname, length('ndc_agency_') + 1)
        from pg_roles as r
        where r.rolname like 'ndc\_agency\_%' and pg_has_role(current_user, r.oid, 'member')
    ))
);
{%- for source in registry_entities() | map(attribute='source') | unique %}
{{ grant_select_if_role('ndc_agency_' ~ source) }};
{%- endfor %}
{%- endmacro %}
