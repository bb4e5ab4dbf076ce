{#- Fails for every version that ends before it starts, and for every pair of versions of the
    same key (e.g. a citizen's attribute) whose [valid_from, valid_to) ranges overlap (valid_to
    null: still current). An incremental build tests the versions it wrote, against each
    other. -#}
{% test versions_do_not_overlap(model, key, valid_from='valid_from', valid_to='valid_to') %}

with

versions as (
    select {{ key | join(', ') }}, {{ valid_from }} as valid_from, {{ valid_to }} as valid_to
    from {{ model }}
),

empty as (
    select versions.*, 'ends before it starts' as problem
    from versions
    where valid_to is not null and valid_to <= valid_from
),

overlapping as (
    select earlier.*, 'overlaps the version from ' || later.valid_from::text as problem
    from versions as earlier
    inner join versions as later
        on {% for column in key %}later.{{ column }} = earlier.{{ column }} and {% endfor %}later.valid_from > earlier.valid_from
    where earlier.valid_to is null or earlier.valid_to > later.valid_from
),

final as (
    select * from empty
    union all
    select * from overlapping
)

select * from final

{% endtest %}
