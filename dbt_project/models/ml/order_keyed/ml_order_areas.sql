-- One row per order with a known destination: its area, the region (nodes.csv) of the node
-- nearest to the customer. Weather covers an area, not a state: exceptions in the same area tell
-- of a storm an order will meet on its way (ml_delivery_features). Reference data only, so it is
-- the same at any instant.
with

orders as (

    select * from {{ ref('int_orders') }}
    {{ only_touched_orders() }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

located_nodes as (

    select
        node_id,
        region,
        lat,
        lon
    from nodes
    where
        not region_is_unknown
        and lat is not null
        and lon is not null

),

distances as (

    select
        orders.order_id,
        orders._max_batch_id,
        located_nodes.node_id,
        located_nodes.region,
        {{ distance_km('located_nodes.lat', 'located_nodes.lon', 'orders.ship_to_lat', 'orders.ship_to_lon') }}
            as distance_km
    from orders
    cross join located_nodes
    where
        orders.ship_to_lat is not null
        and orders.ship_to_lon is not null

),

final as (

    select
        order_id,
        -- Ties (two nodes at the same distance) go to the smaller node id, so the area is stable.
        {{ value_at_min_of('region', ['distance_km', 'node_id']) }} as destination_area,
        _max_batch_id
    from distances
    group by order_id, _max_batch_id

)

{{ select_by_order() }}
