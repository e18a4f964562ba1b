{{ config(
    materialized='incremental',
    incremental_strategy=order_keyed_strategy(),
    partition_by=order_keyed_partitions(),
    unique_key='order_id',
    on_schema_change='fail'
) }}
-- One row per order and lifecycle stage it has been through, with the stage's duration and
-- the time the promise allowed it, so pages take any percentile over any filter:
--   allocation        placed -> first allocation; SLA var('allocation_sla_hours')
--   release_to_ship   first allocation -> first shipment; SLA: to the lines' earliest planned ship-by
--   transit           first shipment -> delivered; SLA: planned ship-by -> promised_by
--   pickup_ready      placed -> ready for pickup; SLA: placed -> promised_by
--   collection        ready for pickup -> collected; no SLA. A split pickup order's parts are
--                     collected one by one, so the stage ends when the last part is, and only
--                     once every part announced ready was collected
--   order_cycle       placed -> done for the customer; SLA: placed -> promised_by
-- Each order's rows follow from its own facts alone, so the table is rebuilt by order like
-- them (delete+insert by order_id; macros/marts/incremental_orders.sql).
with

orders as (

    select * from {{ ref('fct_orders') }}
    {{ only_touched_orders() }}

),

lines as (

    select * from {{ ref('fct_order_lines') }}
    {{ only_touched_orders() }}

),

-- When the customer had collected every part announced ready (fct_orders.collected_at is the
-- first collection: a part collected before the last part was ready would end the stage early).
collections as (

    select
        order_id,
        max(status_changed_at) as collected_at
    from {{ ref('stg_oms__pickups') }}
    {{ only_touched_orders() }}
    group by 1
    having
        count(*) filter (where pickup_status = 'collected')
        >= count(*) filter (where pickup_status = 'ready')

),

filters as (

    select * from {{ ref('dim_order_filters') }}
    {{ only_touched_orders() }}

),

planned as (

    select
        lines.order_id,
        min(lines.planned_ship_by) as planned_ship_by
    from lines
    group by 1

),

stages as (

    select
        orders.order_id,
        'allocation' as lifecycle_stage,
        1 as stage_order,
        orders.placed_at as started_at,
        orders.first_allocated_at as ended_at,
        cast({{ var('allocation_sla_hours') }} as double) as sla_hours
    from orders
    where orders.first_allocated_at is not null

    union all

    select
        orders.order_id,
        'release_to_ship' as lifecycle_stage,
        2 as stage_order,
        orders.first_allocated_at as started_at,
        orders.first_shipped_at as ended_at,
        {{ seconds_between(
            'orders.first_allocated_at',
            'planned.planned_ship_by'
        ) }} / 3600.0 as sla_hours
    from orders
    left join planned on orders.order_id = planned.order_id
    where orders.first_shipped_at is not null and orders.fulfillment_method <> 'pickup'

    union all

    select
        orders.order_id,
        'transit' as lifecycle_stage,
        3 as stage_order,
        orders.first_shipped_at as started_at,
        orders.delivered_at as ended_at,
        {{ seconds_between(
            'planned.planned_ship_by',
            'orders.promised_by'
        ) }} / 3600.0 as sla_hours
    from orders
    left join planned on orders.order_id = planned.order_id
    where orders.delivered_at is not null and orders.first_shipped_at is not null

    union all

    select
        orders.order_id,
        'pickup_ready' as lifecycle_stage,
        4 as stage_order,
        orders.placed_at as started_at,
        orders.ready_for_pickup_at as ended_at,
        {{ seconds_between(
            'orders.placed_at',
            'orders.promised_by'
        ) }} / 3600.0 as sla_hours
    from orders
    where orders.ready_for_pickup_at is not null

    union all

    select
        orders.order_id,
        'collection' as lifecycle_stage,
        5 as stage_order,
        orders.ready_for_pickup_at as started_at,
        collections.collected_at as ended_at,
        cast(null as double) as sla_hours
    from orders
    inner join collections on orders.order_id = collections.order_id
    where orders.collected_at is not null and orders.ready_for_pickup_at is not null

    union all

    select
        orders.order_id,
        'order_cycle' as lifecycle_stage,
        6 as stage_order,
        orders.placed_at as started_at,
        orders.completed_at as ended_at,
        {{ seconds_between(
            'orders.placed_at',
            'orders.promised_by'
        ) }} / 3600.0 as sla_hours
    from orders
    where orders.completed_at is not null

),

timed as (

    select
        stages.*,
        {{ seconds_between(
            'stages.started_at',
            'stages.ended_at'
        ) }} / 3600.0 as hours
    from stages

),

final as (

    select
        timed.order_id,
        timed.lifecycle_stage,
        timed.stage_order,
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        filters.node_type,
        filters.region,
        timed.started_at,
        timed.ended_at,
        timed.hours,
        timed.sla_hours,
        timed.hours <= timed.sla_hours as is_within_sla,
        orders._max_batch_id
    from timed
    inner join filters on timed.order_id = filters.order_id
    inner join orders on timed.order_id = orders.order_id

)

{{ select_by_order() }}
