with

births as (
    select * from {{ ref('stg_civil_registration__births') }}
),

deaths as (
    select * from {{ ref('stg_civil_registration__deaths') }}
),

marriages as (
    select * from {{ ref('stg_civil_registration__marriages') }}
),

insured_persons as (
    select * from {{ ref('stg_social_insurance__insured_persons') }}
),

contribution_periods as (
    select * from {{ ref('stg_social_insurance__contribution_periods') }}
),

residence_changes as (
    select * from {{ ref('stg_residence__residence_changes') }}
),

household_members as (
    select * from {{ ref('stg_residence__household_members') }}
),

students as (
    select * from {{ ref('stg_education__students') }}
),

enrolments as (
    select * from {{ ref('stg_education__enrolments') }}
),

graduations as (
    select * from {{ ref('stg_education__graduations') }}
),

enterprises as (
    select * from {{ ref('stg_business_registry__enterprises') }}
),

load_batches as (
    select * from {{ ref('stg_ops__load_batches') }}
),

-- source and entity are the registry names (include/sources/*.yaml): the reconciliation
-- counts quarantined rows per (source, entity, batch).
rejected as (
    {{ rejected_rows('births', 'civil_registration', 'birth') }}
    union all
    {{ rejected_rows('deaths', 'civil_registration', 'death') }}
    union all
    {{ rejected_rows('marriages', 'civil_registration', 'marriage') }}
    union all
    {{ rejected_rows('insured_persons', 'social_insurance', 'insured_person') }}
    union all
    {{ rejected_rows('contribution_periods', 'social_insurance', 'contribution_period') }}
    union all
    {{ rejected_rows('residence_changes', 'residence', 'residence_change') }}
    union all
    {{ rejected_rows('household_members', 'residence', 'household_member') }}
    union all
    {{ rejected_rows('students', 'education', 'student') }}
    union all
    {{ rejected_rows('enrolments', 'education', 'enrolment') }}
    union all
    {{ rejected_rows('graduations', 'education', 'graduation') }}
    union all
    {{ rejected_rows('enterprises', 'business_registry', 'enterprise') }}
),

final as (
    select
        rejected.source,
        rejected.entity,
        rejected._batch_id,
        rejected._source_row,
        load_batches.source_file,
        rejected.record_key,
        rejected.reason_code,
        rejected.field,
        rejected.value
    from rejected
    left join load_batches
        on load_batches.batch_id = rejected._batch_id
)

select * from final
