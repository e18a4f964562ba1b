-- One row per delivered shipment: its node, carrier and destination region, the day its outcome
-- became known (delivered), whether it missed its order's promise and its days in transit beyond
-- the carrier's promise. The node and carrier histories of the ml models read it
-- (ml_delivery_features, ml_node_days, ml_routing_penalties, macros/ml/node_context.sql).
-- An incremental run rebuilds the touched orders' shipments, reading their deliveries by
-- shipment_id, the key they are joined on (as int_shipments does).
with

orders as (

    select * from {{ ref('int_orders') }}
    {{ only_touched_orders() }}

),

shipped as (

    select * from {{ ref('stg_oms__shipments_shipped') }}
    {{ only_touched_orders() }}

),

deliveries as (

    -- A shipment is delivered once; a re-sent delivery event must not count it twice.
    select
        shipment_id,
        min(delivered_at) as delivered_at
    from {{ ref('stg_oms__shipment_deliveries') }}
    {%- if is_incremental() %}
    where shipment_id in (select shipped.shipment_id from shipped)
    {%- endif %}
    group by shipment_id

),

carriers as (

    select * from {{ ref('dim_carriers') }}

),

final as (

    select
        shipped.shipment_id,
        shipped.order_id,
        shipped.node_id,
        shipped.carrier,
        orders.ship_to_region,
        deliveries.delivered_at,
        cast(deliveries.delivered_at as date) as outcome_date,
        case when deliveries.delivered_at > orders.promised_by then 1 else 0 end as is_late,
        -- Days in transit beyond what the carrier promises for its service level.
        {{ dbt.datediff('cast(shipped.shipped_at as date)', 'cast(deliveries.delivered_at as date)', 'day') }}
        - coalesce(carriers.transit_days, 0) as extra_transit_days,
        orders._max_batch_id
    from shipped
    inner join deliveries on shipped.shipment_id = deliveries.shipment_id
    inner join orders on shipped.order_id = orders.order_id
    left join carriers
        on
            shipped.carrier = carriers.carrier
            and shipped.service_level = carriers.service_level

)

{{ select_by_order() }}
