{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rewritten_report_days() }}"
) }}
-- Shipments per order placement day, filter values, node, carrier and service level: volume,
-- promise outcomes (a shipment is late when delivered after its order's promised_by), distance
-- to the customer. Sums the rows of fct_dashboard_shipments (node_type: the shipping node's).
-- Rebuilt by report day (macros/marts/incremental_report_days.sql): an incremental run deletes
-- and rebuilds every day from the first event of the orders with new events on, which holds
-- each day they counted on before and count on after it (an order's rows count on their own
-- days until its placement lands, then move to its placement day).
-- depends_on: {{ ref('int_order_batches') }}
with

shipments as (

    select * from {{ ref('fct_dashboard_shipments') }}
    {{ only_rewritten_report_days() }}

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
        count(distance_km) as distance_shipments,
        -- The newest ingest batch when the row was written: the incremental watermark.
        {{ newest_batch() }} as _built_through_batch
    from shipments
    group by 1, 2, 3, 4, 5, 6, 7, 8

)

select * from final
