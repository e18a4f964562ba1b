{{ config(materialized='table') }}
-- Every SLA breach, past or still open at the as-of instant (see macros/marts/as_of.sql):
--   not_allocated_in_time   no allocation within var('allocation_sla_hours') of placement
--   not_shipped_by_plan     a line's latest allocation not shipped by its planned_ship_by
--   past_promise            an order not delivered (or ready) by promised_by
--   shipment_exception      every shipment.exception the carrier reported
--   backorder               every order.line_backordered
-- Age runs from the breach to its resolution, or to the as-of instant while open.
-- Severity: high for a broken promise, lost or damaged parcel, or anything open over 48 hours;
-- medium for other open breaches or ones that took over 24 hours to resolve; low otherwise.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

fct_allocations as (

    select * from {{ ref('fct_allocations') }}

),

fct_order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

stg_oms__shipment_exceptions as (

    select * from {{ ref('stg_oms__shipment_exceptions') }}

),

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

stg_oms__line_backorders as (

    select * from {{ ref('stg_oms__line_backorders') }}

),

as_of as (

    select {{ as_of_timestamp() }} as as_of_at

),

not_allocated as (

    select
        'not_allocated_in_time' as exception_type,
        orders.order_id,
        cast(null as {{ dbt.type_string() }}) as line_id,
        cast(null as {{ dbt.type_string() }}) as shipment_id,
        cast(null as {{ dbt.type_string() }}) as node_id,
        cast(null as {{ dbt.type_string() }}) as code,
        {{ dbt.dateadd('hour', var('allocation_sla_hours'), 'orders.placed_at') }} as breached_at,
        orders.first_allocated_at as resolved_at
    from orders
    where
        not orders.is_fully_cancelled
        and coalesce(
            orders.first_allocated_at,
            (select as_of.as_of_at from as_of)
        ) > {{ dbt.dateadd('hour', var('allocation_sla_hours'), 'orders.placed_at') }}

),

-- Each line's latest allocation, with when it was resolved. Only a cancelled one needs its
-- line's cancellation time: joining every allocation to its line for it was most of the model.
latest_allocations as (

    select
        allocations.order_id,
        allocations.line_id,
        allocations.node_id,
        allocations.outcome,
        allocations.planned_ship_by,
        case
            when allocations.outcome = 'shipped' then allocations.fulfilled_at
            when allocations.outcome = 'rejected' then allocations.rejected_at
        end as resolved_at
    from fct_allocations as allocations
    where
        allocations.is_latest_attempt
        and allocations.fulfillment_method is not null
        and not exists (
            -- In-store pickups are never shipped: their deadline is the promise, not a ship-by.
            select 1 from orders as pickup_orders
            where
                pickup_orders.order_id = allocations.order_id
                and pickup_orders.fulfillment_method = 'pickup'
                and pickup_orders.pickup_node_id = allocations.node_id
        )

),

resolved_allocations as (

    select * from latest_allocations
    where outcome <> 'cancelled'
    union all
    select
        latest_allocations.order_id,
        latest_allocations.line_id,
        latest_allocations.node_id,
        latest_allocations.outcome,
        latest_allocations.planned_ship_by,
        order_lines.cancelled_at as resolved_at
    from latest_allocations
    left join fct_order_lines as order_lines
        on
            latest_allocations.order_id = order_lines.order_id
            and latest_allocations.line_id = order_lines.line_id
    where latest_allocations.outcome = 'cancelled'

),

not_shipped as (

    select
        'not_shipped_by_plan' as exception_type,
        allocations.order_id,
        allocations.line_id,
        cast(null as {{ dbt.type_string() }}) as shipment_id,
        allocations.node_id,
        allocations.outcome as code,
        allocations.planned_ship_by as breached_at,
        allocations.resolved_at
    from resolved_allocations as allocations
    where
        coalesce(allocations.resolved_at, (select as_of.as_of_at from as_of))
        > allocations.planned_ship_by

),

past_promise as (

    select
        'past_promise' as exception_type,
        orders.order_id,
        cast(null as {{ dbt.type_string() }}) as line_id,
        cast(null as {{ dbt.type_string() }}) as shipment_id,
        orders.primary_node_id as node_id,
        cast(null as {{ dbt.type_string() }}) as code,
        orders.promised_by as breached_at,
        orders.completed_at as resolved_at
    from orders
    where
        not orders.is_fully_cancelled
        and coalesce(orders.completed_at, (select as_of.as_of_at from as_of)) > orders.promised_by

),

shipment_exceptions as (

    select
        'shipment_exception' as exception_type,
        exceptions.order_id,
        cast(null as {{ dbt.type_string() }}) as line_id,
        exceptions.shipment_id,
        shipments.node_id,
        exceptions.exception_code as code,
        exceptions.reported_at as breached_at,
        -- Damage is often reported on opening, after delivery: it cannot resolve before it is seen.
        case
            when exceptions.exception_code <> 'lost' and shipments.delivered_at is not null
                then greatest(shipments.delivered_at, exceptions.reported_at)
        end as resolved_at
    from stg_oms__shipment_exceptions as exceptions
    left join fct_shipments as shipments on exceptions.shipment_id = shipments.shipment_id

),

backorders as (

    select
        'backorder' as exception_type,
        backorders.order_id,
        backorders.line_id,
        cast(null as {{ dbt.type_string() }}) as shipment_id,
        cast(null as {{ dbt.type_string() }}) as node_id,
        cast(null as {{ dbt.type_string() }}) as code,
        backorders.backordered_at as breached_at,
        coalesce(order_lines.last_fulfilled_at, order_lines.cancelled_at) as resolved_at
    from stg_oms__line_backorders as backorders
    left join fct_order_lines as order_lines
        on backorders.order_id = order_lines.order_id and backorders.line_id = order_lines.line_id

),

breaches as (

    select * from not_allocated
    union all
    select * from not_shipped
    union all
    select * from past_promise
    union all
    select * from shipment_exceptions
    union all
    select * from backorders

),

aged as (

    select
        breaches.*,
        breaches.resolved_at is null as is_open,
        {{ seconds_between(
            'breaches.breached_at',
            'coalesce(breaches.resolved_at, (select as_of.as_of_at from as_of))'
        ) }} / 3600.0 as age_hours
    from breaches
    -- A breach after the as-of instant has not happened yet.
    where breaches.breached_at <= (select as_of.as_of_at from as_of)

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'aged.exception_type', "'|'", 'aged.order_id', "'|'",
            "coalesce(aged.line_id, '')", "'|'", "coalesce(aged.shipment_id, '')", "'|'",
            "coalesce(aged.code, '')", "'|'", 'cast(aged.breached_at as ' ~ dbt.type_string() ~ ')'
        ])) }} as exception_id,
        aged.exception_type,
        aged.order_id,
        aged.line_id,
        aged.shipment_id,
        aged.node_id,
        orders.channel,
        orders.fulfillment_method,
        aged.code,
        aged.breached_at,
        aged.resolved_at,
        aged.is_open,
        aged.age_hours,
        case
            when aged.exception_type = 'past_promise' or aged.code in ('lost', 'damaged') then 'high'
            when aged.is_open and aged.age_hours > 48 then 'high'
            when aged.is_open or aged.age_hours > 24 then 'medium'
            else 'low'
        end as severity,
        (select as_of.as_of_at from as_of) as as_of_at
    from aged
    left join orders on aged.order_id = orders.order_id

)

select * from final
