-- Sourcing decisions per order placement day, filter values, node and rejection reason:
-- where lines were sent, how often a node had to be re-tried, and why nodes rejected.
-- Sums the rows of fct_dashboard_allocations (node_type: the allocated node's own type;
-- rejection_reason 'none' when not rejected).
with

allocations as (

    select * from {{ ref('fct_dashboard_allocations') }}

),

final as (

    select
        report_date,
        channel,
        fulfillment_method,
        node_type,
        region,
        node_id,
        rejection_reason,
        count(*) as allocations,
        sum(case when attempt = 1 then 1 else 0 end) as first_allocations,
        sum(case when attempt > 1 then 1 else 0 end) as reallocations,
        sum(allocated_quantity) as allocated_units,
        sum(case when outcome = 'rejected' then 1 else 0 end) as rejections,
        sum(coalesce(rejected_quantity, 0)) as rejected_units,
        sum(case when is_phantom_rejection then 1 else 0 end) as not_found_rejections
    from allocations
    group by 1, 2, 3, 4, 5, 6, 7

)

select * from final
