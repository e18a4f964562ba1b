{{ config(materialized='view') }}

-- Every order once per lifecycle stage it reached (placed, allocated, shipped, delivered or
-- ready, collected), with the five dashboard filter columns: the rows behind each bar of the
-- Orders page's funnel. A stage is reached when fct_orders has its time, the same test
-- agg_orders_daily counts with, so a bar's drill-down lists exactly the orders it counts.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}

),

stages as (

    select
        order_id,
        'placed' as funnel_stage,
        1 as stage_order,
        placed_at as reached_at,
        _max_batch_id
    from orders
    union all
    select
        order_id,
        'allocated' as funnel_stage,
        2 as stage_order,
        first_allocated_at as reached_at,
        _max_batch_id
    from orders
    where first_allocated_at is not null
    union all
    select
        order_id,
        'shipped' as funnel_stage,
        3 as stage_order,
        first_shipped_at as reached_at,
        _max_batch_id
    from orders
    where first_shipped_at is not null
    union all
    select
        order_id,
        'delivered_or_ready' as funnel_stage,
        4 as stage_order,
        completed_at as reached_at,
        _max_batch_id
    from orders
    where completed_at is not null
    union all
    select
        order_id,
        'collected' as funnel_stage,
        5 as stage_order,
        collected_at as reached_at,
        _max_batch_id
    from orders
    where collected_at is not null

),

final as (

    select
        stages.order_id,
        stages.funnel_stage,
        stages.stage_order,
        stages.reached_at,
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        filters.node_type,
        filters.region,
        stages._max_batch_id
    from stages
    inner join filters on stages.order_id = filters.order_id

)

select * from final
