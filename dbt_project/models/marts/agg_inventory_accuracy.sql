{{ config(materialized='table') }}
-- Inventory record accuracy and phantom inventory per month, node and category. Counts carry
-- their own numerators and denominators so any roll-up (node type, region, quarter) is a sum.
-- Phantom inventory is what pickers found missing: `not_found` rejections per allocation.
with

counts as (

    select
        cast({{ dbt.date_trunc('month', 'count_date') }} as date) as month_start,
        node_id,
        node_type,
        category,
        count(*) as counts,
        count(case when is_accurate then 1 end) as accurate_counts,
        count(case when is_over then 1 end) as over_counts,
        count(case when is_under then 1 end) as under_counts,
        sum(case when is_over then error_units else 0 end) as over_units,
        sum(case when is_under then -error_units else 0 end) as under_units,
        sum(system_quantity) as system_units
    from {{ ref('fct_inventory_counts') }}
    group by 1, 2, 3, 4

),

allocations as (

    select
        cast({{ dbt.date_trunc('month', 'allocations.allocated_at') }} as date) as month_start,
        allocations.node_id,
        allocations.node_type,
        order_line_facts.category,
        count(*) as allocations,
        count(case when allocations.outcome = 'rejected' then 1 end) as rejections,
        count(case when allocations.is_phantom_rejection then 1 end) as not_found_rejections
    from {{ ref('fct_allocations') }} as allocations
    left join {{ ref('fct_order_lines') }} as order_line_facts
        on allocations.order_id = order_line_facts.order_id and allocations.line_id = order_line_facts.line_id
    group by 1, 2, 3, 4

),

final as (

    select
        coalesce(counts.month_start, allocations.month_start) as month_start,
        coalesce(counts.node_id, allocations.node_id) as node_id,
        coalesce(counts.node_type, allocations.node_type) as node_type,
        coalesce(counts.category, allocations.category) as category,
        coalesce(counts.counts, 0) as counts,
        coalesce(counts.accurate_counts, 0) as accurate_counts,
        coalesce(counts.over_counts, 0) as over_counts,
        coalesce(counts.under_counts, 0) as under_counts,
        coalesce(counts.over_units, 0) as over_units,
        coalesce(counts.under_units, 0) as under_units,
        coalesce(counts.system_units, 0) as system_units,
        {{ divide('counts.accurate_counts * 1.0', 'nullif(counts.counts, 0)') }} as inventory_record_accuracy,
        coalesce(allocations.allocations, 0) as allocations,
        coalesce(allocations.rejections, 0) as rejections,
        coalesce(allocations.not_found_rejections, 0) as not_found_rejections,
        {{ divide('allocations.not_found_rejections * 1.0', 'nullif(allocations.allocations, 0)') }}
            as phantom_inventory_rate
    from counts
    full outer join allocations
        on
            counts.month_start = allocations.month_start
            and counts.node_id = allocations.node_id
            and counts.category is not distinct from allocations.category

)

select * from final
