-- Shipments per order placement day, filter values, node, carrier and service level: volume,
-- promise outcomes (a shipment is late when delivered after its order's promised_by), distance
-- to the customer. Sums the rows of fct_dashboard_shipments (node_type: the shipping node's).
with

shipments as (

    select * from {{ ref('fct_dashboard_shipments') }}

),

final as (

    select
        report_date,
        channel,
        fulfillment_method,
        node_type,
        region,
        node_id,
        carrier,
        service_level,
        count(*) as shipments,
        sum(fulfilled_units) as units,
        count(delivered_at) as delivered_shipments,
        sum(case when delivered_at is not null and not is_late then 1 else 0 end)
            as on_time_shipments,
        sum(case when delivered_at is not null and is_late then 1 else 0 end) as late_shipments,
        -- Over decimals: a float sum depends on row order, and builds must agree to the bit.
        cast(sum(cast(distance_km as decimal(18, 6))) as double) as distance_km_sum,
        count(distance_km) as distance_shipments
    from shipments
    group by 1, 2, 3, 4, 5, 6, 7, 8

)

select * from final
