-- Shipments per order placement day, filter values, node, carrier and service level: volume,
-- promise outcomes (a shipment is late when delivered after its order's promised_by), distance
-- to the customer. node_type here is the shipping node's own type.
with

shipments as (

    select * from {{ ref('fct_shipments') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}

),

final as (

    select
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        coalesce(shipments.node_type, 'unknown') as node_type,
        filters.region,
        shipments.node_id,
        coalesce(shipments.carrier, 'none') as carrier,
        coalesce(shipments.service_level, 'none') as service_level,
        count(*) as shipments,
        sum(shipments.fulfilled_units) as units,
        count(shipments.delivered_at) as delivered_shipments,
        sum(case when shipments.delivered_at is not null and not shipments.is_late then 1 else 0 end)
            as on_time_shipments,
        sum(case when shipments.delivered_at is not null and shipments.is_late then 1 else 0 end)
            as late_shipments,
        -- Over decimals: a float sum depends on row order, and builds must agree to the bit.
        cast(sum(cast(shipments.distance_km as decimal(18, 6))) as double) as distance_km_sum,
        count(shipments.distance_km) as distance_shipments
    from shipments
    inner join filters on shipments.order_id = filters.order_id
    group by 1, 2, 3, 4, 5, 6, 7, 8

)

select * from final
