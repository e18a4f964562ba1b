{{ config(materialized='view') }}

-- Every sourcing decision with the five dashboard filter columns and the group keys the
-- allocation aggregates use, derived here once: agg_allocations_daily sums these rows, and a
-- page's drill-down lists them. node_type is the allocated node's own type; rejection_reason
-- is 'none' when the allocation was not rejected.
with

allocations as (

    select * from {{ ref('fct_allocations') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}

),

final as (

    -- An order's events may land before its placement (another system's file came first): its
    -- rows count on their own day, under 'unknown', until the placement lands, so that the
    -- aggregates over this view still add up to every row of the fact.
    select
        coalesce(
            filters.report_date,
            cast(coalesce(allocations.allocated_at, allocations.rejected_at) as date)
        ) as report_date,
        coalesce(filters.channel, 'unknown') as channel,
        coalesce(filters.fulfillment_method, 'unknown') as fulfillment_method,
        coalesce(allocations.node_type, 'unknown') as node_type,
        coalesce(filters.region, 'unknown') as region,
        allocations.allocation_id,
        allocations.order_id,
        allocations.line_id,
        allocations.attempt,
        allocations.node_id,
        coalesce(allocations.rejection_reason, 'none') as rejection_reason,
        allocations.outcome,
        allocations.allocated_at,
        allocations.allocated_quantity,
        allocations.rejected_quantity,
        allocations.rejected_at,
        allocations.is_phantom_rejection,
        allocations._max_batch_id
    from allocations
    left join filters on allocations.order_id = filters.order_id

)

select * from final
