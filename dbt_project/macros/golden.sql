{#- The golden record (dbt_project/README.md, "The golden record"): helpers of
    int_citizen_attribute_records and citizen_attribute_versions. -#}

{#- The latest conforming version of each record (the source's key across batches; a version
    without a key stands alone) among the rows of `relation` that `where` selects: by the
    source's own update time, then batch and row, never by load time, so the order batches
    arrive in does not change it. Quarantined versions are skipped: the last conforming
    version survives (as int_insured_persons_deduplicated does). -#}
{% macro latest_record_versions(relation, where='true') -%}
    select * from (
        select
            versions.*,
            row_number() over (
                partition by {{ version_key('versions') }}
                order by versions.source_updated_at desc nulls last,
                    versions._batch_id desc, versions._source_row desc
            ) as _version_rank
        from {{ relation }} as versions
        where versions.quarantine_reason_code is null and ({{ where }})
    ) as ranked
    where ranked._version_rank = 1
{%- endmacro %}

{#- The personal IDs of every version of the records of `relation` written or removed since
    this model's last build (changed_keys): a record whose personal ID was corrected moves from
    one person to another, and both are rebuilt. -#}
{% macro record_persons_changed(relation, person_column='personal_id') -%}
    select {{ person_column }} as personal_id from {{ relation }} as versions
    where {{ version_key('versions') }} in (
        {{ changed_keys(relation, [version_key('changed')]) }}
    )
    union
    {{ changed_keys(relation, ['changed.' ~ person_column]) }}
{%- endmacro %}

{#- Sort key `position` (1-based) of a candidate record under its attribute's survivorship
    rules (seed golden_attributes, `survivorship`, space-separated, in order): a smaller key
    wins. Every rule gives an integer, so the rules sort in the order the dictionary lists
    them:
      authoritative   0 for a record of the attribute's authoritative source, else 1;
      most_recent     the later effective date first;
      most_complete   a value first, then the longer one.
    `candidate` is the record's alias, `attribute` the seed's. -#}
{% macro survivorship_key(position, candidate='candidate', attribute='attribute') -%}
    case (string_to_array({{ attribute }}.survivorship, ' '))[{{ position }}]
        when 'authoritative' then
            case when {{ candidate }}.source_system = {{ attribute }}.authoritative_source then 0 else 1 end
        when 'most_recent' then -({{ candidate }}.effective_date - date '0001-01-01')
        when 'most_complete' then
            case when {{ candidate }}.value is null then 1 else 0 end * 1000000
            - coalesce(length({{ candidate }}.value), 0)
        else 0
    end
{%- endmacro %}
