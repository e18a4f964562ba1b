{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rewritten_report_days() }}"
) }}
-- Sourcing decisions per order placement day, filter values, node and rejection reason:
-- where lines were sent, how often a node had to be re-tried, and why nodes rejected.
-- Sums the rows of fct_dashboard_allocations (node_type: the allocated node's own type;
-- rejection_reason 'none' when not rejected).
-- Rebuilt by report day (macros/marts/incremental_report_days.sql): an incremental run deletes
-- and rebuilds every day from the first event of the orders with new events on, which holds
-- each day they counted on before and count on after it (an order's rows count on their own
-- days until its placement lands, then move to its placement day).
-- depends_on: {{ ref('int_order_batches') }}
with

allocations as (

    select * from {{ ref('fct_dashboard_allocations') }}
    {{ only_rewritten_report_days() }}

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
        sum(case when is_phantom_rejection then 1 else 0 end) as not_found_rejections,
        -- The newest ingest batch when the row was written: the incremental watermark.
        {{ newest_batch() }} as _built_through_batch
    from allocations
    group by 1, 2, 3, 4, 5, 6, 7

)

select * from final
