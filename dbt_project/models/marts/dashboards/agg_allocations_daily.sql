-- Sourcing decisions per order placement day, filter values, node and rejection reason:
-- where lines were sent, how often a node had to be re-tried, and why nodes rejected.
-- node_type here is the allocated node's own type; rejection_reason is 'none' when not rejected.
with

allocations as (

    select * from {{ ref('fct_allocations') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}

),

final as (

    select
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        coalesce(allocations.node_type, 'unknown') as node_type,
        filters.region,
        allocations.node_id,
        coalesce(allocations.rejection_reason, 'none') as rejection_reason,
        count(*) as allocations,
        sum(case when allocations.attempt = 1 then 1 else 0 end) as first_allocations,
        sum(case when allocations.attempt > 1 then 1 else 0 end) as reallocations,
        sum(allocations.allocated_quantity) as allocated_units,
        sum(case when allocations.outcome = 'rejected' then 1 else 0 end) as rejections,
        sum(coalesce(allocations.rejected_quantity, 0)) as rejected_units,
        sum(case when allocations.is_phantom_rejection then 1 else 0 end) as not_found_rejections
    from allocations
    inner join filters on allocations.order_id = filters.order_id
    group by 1, 2, 3, 4, 5, 6, 7

)

select * from final
