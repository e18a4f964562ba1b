-- One row per shipment: where it left from, how, how far, how long it took, and whether it
-- broke the order's promise. In-store pickups are shipments that were packed and never shipped.
with

shipments as (

    select * from {{ ref('int_shipments') }}
    {{ only_touched_orders() }}

),

-- The ship-by of the allocations each line's shipment fulfilled: a line and node can have
-- been allocated more than once, so one row per line and node, with the latest.
planned_lines as (

    select
        allocations.order_id,
        allocations.line_id,
        allocations.node_id,
        max(allocations.planned_ship_by) as planned_ship_by
    from {{ ref('int_allocations') }} as allocations
    where
        allocations.outcome = 'shipped'
    {%- if is_incremental() %}
        and allocations.order_id in ({{ touched_orders() }})
    {%- endif %}
    group by allocations.order_id, allocations.line_id, allocations.node_id

),

-- Units, lines and ship-by per shipment, in one pass over its lines.
shipment_units as (

    select
        shipment_lines.shipment_id,
        sum(shipment_lines.packed_quantity) as packed_units,
        sum(shipment_lines.fulfilled_quantity) as fulfilled_units,
        count(*) as line_count,
        max(planned_lines.planned_ship_by) as planned_ship_by
    from {{ ref('int_shipment_lines') }} as shipment_lines
    left join planned_lines
        on
            shipment_lines.order_id = planned_lines.order_id
            and shipment_lines.line_id = planned_lines.line_id
            and shipment_lines.node_id = planned_lines.node_id
    {%- if is_incremental() %}
    where shipment_lines.order_id in ({{ touched_orders() }})
    {%- endif %}
    group by shipment_lines.shipment_id

),

orders as (

    select * from {{ ref('int_orders') }}
    {{ only_touched_orders() }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

carriers as (

    select * from {{ ref('dim_carriers') }}

),

batches as (

    select * from {{ ref('int_order_batches') }}
    {{ only_touched_orders() }}

),

final as (

    select
        shipments.shipment_id,
        shipments.order_id,
        shipments.node_id,
        nodes.node_type,
        orders.channel,
        orders.fulfillment_method,
        shipments.carrier,
        shipments.service_level,
        shipments.tracking_number,
        shipments.shipped_at is null as is_in_store_pickup,
        shipments.packed_at,
        shipments.shipped_at,
        shipments.delivered_at,
        shipment_units.planned_ship_by,
        orders.promised_by,
        coalesce(shipment_units.line_count, 0) as line_count,
        coalesce(shipment_units.packed_units, 0) as packed_units,
        coalesce(shipment_units.fulfilled_units, 0) as fulfilled_units,
        {{ money('shipments.shipping_cost') }} as shipping_cost,
        shipments.weight_kg,
        -- Null, never zero, when the node or the address has no coordinates.
        round({{ distance_km('nodes.lat', 'nodes.lon', 'orders.ship_to_lat', 'orders.ship_to_lon') }}, 1)
            as distance_km,
        carriers.transit_days as promised_transit_days,
        {{ seconds_between('shipments.shipped_at', 'shipments.delivered_at') }} / 86400.0  -- noqa: LT05
            as transit_days,
        shipments.shipped_at > shipment_units.planned_ship_by as is_shipped_late,
        shipments.delivered_at > orders.promised_by as is_delivered_late,
        -- Late: delivered after the promise, or lost (a lost parcel never keeps its promise).
        coalesce(shipments.delivered_at > orders.promised_by, false) or shipments.is_lost as is_late,
        shipments.exception_count,
        shipments.exception_codes,
        shipments.is_damaged,
        shipments.is_lost,
        batches._max_batch_id
    from shipments
    left join shipment_units on shipments.shipment_id = shipment_units.shipment_id
    left join orders on shipments.order_id = orders.order_id
    left join nodes on shipments.node_id = nodes.node_id
    left join carriers
        on shipments.carrier = carriers.carrier and shipments.service_level = carriers.service_level
    left join batches on shipments.order_id = batches.order_id

)

{{ select_by_order() }}
