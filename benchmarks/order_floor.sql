-- The floor of the dbt order path (benchmarks/bench_marts.py): the core of marts.fct_orders
-- (placed, promised, allocated, shipped, delivered or ready, on time, cancelled, shipments, split,
-- revenue) computed from raw.events by one hand-written statement, as fct_orders defines them
-- (docs/kpis.md). bench_marts.py checks that it agrees with fct_orders on every order.
create or replace temp table order_floor as
with

-- raw.events.data is JSON validated at ingest, so ->> needs no json_valid guard here.
placed as (
    select order_id, occurred_at as placed_at, data,
    from raw.events
    where event_type = 'order.placed'
    qualify row_number() over (partition by order_id order by occurred_at, event_id) = 1
),

orders as (
    select
        order_id,
        placed_at,
        data ->> '$.fulfillment_method' as fulfillment_method,
        data ->> '$.pickup_node_id' as pickup_node_id,
        timezone('UTC', (data ->> '$.promised_by')::timestamptz) as promised_by,
        round((data ->> '$.shipping_charged')::double, 2)::decimal(18, 2) as shipping_charged,
        unnest(json_extract(data, '$.lines[*]')) as line,
    from placed
),

order_lines as (
    select
        * exclude (line),
        line ->> '$.line_id' as line_id,
        (line ->> '$.quantity')::integer as quantity,
        (line ->> '$.unit_price')::double as unit_price,
    from orders
),

cancelled as (
    select order_id, data ->> '$.line_id' as line_id, sum((data ->> '$.quantity')::integer) as quantity,
    from raw.events
    where event_type = 'order.line_cancelled'
    group by all
),

allocated as (
    select order_id, min(occurred_at) as first_allocated_at,
    from raw.events
    where event_type = 'order.line_allocated'
    group by all
),

shipment_events as (
    select event_type, order_id, data ->> '$.shipment_id' as shipment_id, occurred_at, data,
    from raw.events
    where event_type in ('shipment.packed', 'shipment.shipped', 'shipment.delivered')
),

shipments as (
    select
        shipment_id,
        min(order_id) as order_id,
        min(data ->> '$.node_id') filter (where event_type <> 'shipment.delivered') as node_id,
        min(occurred_at) filter (where event_type = 'shipment.shipped') as shipped_at,
        min(occurred_at) filter (where event_type = 'shipment.delivered') as delivered_at,
    from shipment_events
    group by shipment_id
),

-- What reached the customer's side: the lines shipped, or for a pickup at its own store, packed.
fulfilled as (
    select shipment_id, order_id, line ->> '$.line_id' as line_id, (line ->> '$.quantity')::integer as quantity,
    from (
        select e.shipment_id, e.order_id, unnest(json_extract(e.data, '$.lines[*]')) as line,
        from shipment_events as e
        join shipments as s using (shipment_id)
        join (select distinct order_id, fulfillment_method, pickup_node_id from orders) as o
            on o.order_id = s.order_id
        where (e.event_type = 'shipment.shipped')
           or (e.event_type = 'shipment.packed' and s.shipped_at is null
               and o.fulfillment_method = 'pickup' and s.node_id = o.pickup_node_id)
    )
),

by_order_shipments as (
    select
        s.order_id,
        count(distinct f.shipment_id) as shipment_count,
        min(s.shipped_at) as first_shipped_at,
        max(s.shipped_at) as last_shipped_at,
        max(s.delivered_at) as last_delivered_at,
        bool_and(s.shipped_at is null or s.delivered_at is not null) as all_delivered,
    from shipments as s
    left join (select distinct shipment_id from fulfilled where quantity > 0) as f using (shipment_id)
    group by s.order_id
),

by_order_lines as (
    select
        l.order_id,
        any_value(l.placed_at) as placed_at,
        any_value(l.promised_by) as promised_by,
        any_value(l.fulfillment_method) as fulfillment_method,
        any_value(l.shipping_charged) as shipping_charged,
        sum(round(l.quantity * l.unit_price, 2)::decimal(18, 2)) as ordered_value,
        sum(round(coalesce(c.quantity, 0) * l.unit_price, 2)::decimal(18, 2)) as cancelled_value,
        bool_or(c.quantity is not null) as is_cancelled,
        bool_and(coalesce(f.quantity, 0) + coalesce(c.quantity, 0) >= l.quantity) as is_settled,
    from order_lines as l
    left join cancelled as c using (order_id, line_id)
    left join (select order_id, line_id, sum(quantity) as quantity from fulfilled group by all) as f
        using (order_id, line_id)
    group by l.order_id
),

pickups as (
    select order_id, max(occurred_at) as last_ready_at,
    from raw.events
    where event_type = 'pickup.ready'
    group by all
),

milestones as (
    select
        o.order_id,
        o.placed_at,
        o.promised_by,
        a.first_allocated_at,
        s.first_shipped_at,
        case
            when o.fulfillment_method = 'delivery' and o.is_settled and s.all_delivered
                then s.last_delivered_at
        end as delivered_at,
        case
            when o.fulfillment_method = 'pickup' and o.is_settled
                and p.last_ready_at >= coalesce(s.last_shipped_at, p.last_ready_at)
                then p.last_ready_at
        end as ready_for_pickup_at,
        o.is_cancelled,
        coalesce(s.shipment_count, 0) as shipment_count,
        o.ordered_value - o.cancelled_value + o.shipping_charged as revenue,
        o.fulfillment_method,
    from by_order_lines as o
    left join allocated as a using (order_id)
    left join by_order_shipments as s using (order_id)
    left join pickups as p using (order_id)
)

select
    * exclude (fulfillment_method),
    case when fulfillment_method = 'pickup' then ready_for_pickup_at else delivered_at end
        <= promised_by as is_on_time,
    shipment_count > 1 as is_split,
from milestones
