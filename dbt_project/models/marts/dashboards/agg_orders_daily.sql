{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rewritten_report_days() }}"
) }}
-- Orders per placement day and filter values: the lifecycle funnel, promise outcomes,
-- splits and re-allocations, revenue and the cost-to-serve components. Every measure is a
-- count or a sum, so any period and filter is a plain sum over these rows.
-- Rebuilt by report day (macros/marts/incremental_report_days.sql): an incremental run deletes
-- and rebuilds every day from the first event of the orders with new events on, which holds
-- each day they counted on before and count on after it (here their placement days).
-- depends_on: {{ ref('int_order_batches') }}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

costs as (

    select * from {{ ref('fct_cost_to_serve') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}
    {{ only_rewritten_report_days() }}

),

final as (

    select
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        filters.node_type,
        filters.region,
        count(*) as orders,
        count(orders.first_allocated_at) as allocated_orders,
        count(orders.first_shipped_at) as shipped_orders,
        count(orders.completed_at) as delivered_or_ready_orders,
        count(orders.collected_at) as collected_orders,
        sum(case when orders.fulfillment_method = 'pickup' then 1 else 0 end) as pickup_orders,
        sum(case when orders.is_fully_cancelled then 1 else 0 end) as cancelled_orders,
        sum(case when orders.is_on_time then 1 else 0 end) as on_time_orders,
        sum(case when orders.is_on_time = false then 1 else 0 end) as late_orders,
        -- Over decimals: a float sum depends on row order, and builds must agree to the bit.
        cast(sum(cast(orders.promise_slack_hours as decimal(18, 6))) as double) as promise_slack_hours_sum,
        count(orders.promise_slack_hours) as promise_slack_orders,
        sum(case when orders.is_split then 1 else 0 end) as split_orders,
        sum(case when orders.is_reallocated then 1 else 0 end) as reallocated_orders,
        sum(case when orders.has_rejection then 1 else 0 end) as rejected_orders,
        sum(orders.revenue) as revenue,
        sum(costs.pick_pack_cost) as pick_pack_cost,
        sum(costs.packaging_cost) as packaging_cost,
        sum(costs.outbound_shipping_cost) as outbound_shipping_cost,
        sum(costs.payment_fees) as payment_fees,
        sum(costs.service_contact_cost) as service_contact_cost,
        sum(costs.return_shipping_cost) as return_shipping_cost,
        sum(costs.return_handling_cost) as return_handling_cost,
        sum(costs.refunds_cost) as refunds_cost,
        sum(costs.total_cost) as total_cost,
        -- The newest ingest batch when the row was written: the incremental watermark.
        {{ newest_batch() }} as _built_through_batch
    from orders
    inner join filters on orders.order_id = filters.order_id
    left join costs on orders.order_id = costs.order_id
    group by 1, 2, 3, 4, 5

)

select * from final
