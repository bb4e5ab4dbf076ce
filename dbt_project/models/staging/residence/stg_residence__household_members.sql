{{ config(post_hook=["{{ staging_indexes(['personal_id'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet (macros/incremental.sql).
source as (
    {{ pending_source('residence', 'household_member') }}
),

-- Through the mapping the source declares (code_lists.relationship_to_head).
relationships as (
    {{ declared_code_map('residence', 'relationship_to_head') }}
),

conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ conform_text('source.id') }} as record_key,
        {{ conform_text('source.ma_ho') }} as household_code,
        {{ conform_personal_id('source.so_dinh_danh') }} as personal_id,
        relationships.code as relationship_to_head_code,
        {{ parse_iso_date('source.tu_ngay') }} as member_from,
        -- Empty while the person is still a member.
        {{ parse_iso_date('source.den_ngay') }} as member_until,
        {{ parse_iso_timestamp('source.updated_at') }} as source_updated_at,
        source.so_dinh_danh,
        source.quan_he_chu_ho,
        source.tu_ngay,
        source.den_ngay
    from source
    left join relationships
        on relationships.source_value = {{ code_lookup_value('source.quan_he_chu_ho') }}
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_personal_id('so_dinh_danh')
            + check_date_parsed('tu_ngay', 'member_from')
            + check_optional_date_parsed('den_ngay', 'member_until')
            + check_not_future('tu_ngay', 'member_from')
            + check_code_known('quan_he_chu_ho', 'relationship_to_head_code')
        ) | indent(8) }}
    from conformed
),

final as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        -- When this row was conformed.
        now() as _conformed_at,
        record_key,
        household_code,
        personal_id,
        relationship_to_head_code,
        member_from,
        member_until,
        source_updated_at,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
