{{ config(materialized='view') }}

-- Every shipment with the five dashboard filter columns and the group keys the shipment
-- aggregates use, derived here once: agg_shipments_daily sums these rows, and a page's
-- drill-down lists them, so the rows behind a number are the rows that made it.
-- node_type is the shipping node's own type.
with

shipments as (

    select * from {{ ref('fct_shipments') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}

),

final as (

    -- An order's events may land before its placement (another system's file came first): its
    -- rows count on their own day, under 'unknown', until the placement lands, so that the
    -- aggregates over this view still add up to every row of the fact.
    select
        coalesce(
            filters.report_date,
            cast(coalesce(shipments.packed_at, shipments.shipped_at, shipments.delivered_at) as date)
        ) as report_date,
        coalesce(filters.channel, 'unknown') as channel,
        coalesce(filters.fulfillment_method, 'unknown') as fulfillment_method,
        coalesce(shipments.node_type, 'unknown') as node_type,
        coalesce(filters.region, 'unknown') as region,
        shipments.shipment_id,
        shipments.order_id,
        shipments.node_id,
        coalesce(shipments.carrier, 'none') as carrier,
        coalesce(shipments.service_level, 'none') as service_level,
        shipments.shipped_at,
        shipments.delivered_at,
        shipments.promised_by,
        shipments.is_late,
        shipments.fulfilled_units,
        shipments.distance_km,
        shipments.shipping_cost,
        shipments.exception_codes,
        shipments._max_batch_id
    from shipments
    left join filters on shipments.order_id = filters.order_id

)

select * from final
