{{ config(materialized='view') }}

-- Every returned line with the five dashboard filter columns (the order's) and the group keys
-- the return aggregates use, derived here once: agg_return_reasons_daily sums these rows, and
-- a page's drill-down lists them. A return counts on the day its order was placed.
with

returns as (

    select * from {{ ref('fct_returns') }}

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
            cast(coalesce(returns.initiated_at, returns.received_at, returns.refunded_at) as date)
        ) as report_date,
        coalesce(filters.channel, 'unknown') as channel,
        coalesce(filters.fulfillment_method, 'unknown') as fulfillment_method,
        coalesce(filters.node_type, 'unknown') as node_type,
        coalesce(filters.region, 'unknown') as region,
        returns.return_id,
        returns.order_id,
        returns.line_id,
        returns.sku,
        coalesce(returns.category, 'unknown') as category,
        coalesce(returns.return_reason, 'unknown') as return_reason,
        coalesce(returns.disposition, 'pending') as disposition,
        returns.returned_quantity,
        returns.received_quantity,
        returns.returned_value,
        returns.refund_amount,
        returns.initiated_at,
        returns.received_at,
        returns.refunded_at,
        returns.refund_cycle_days,
        returns._max_batch_id
    from returns
    left join filters on returns.order_id = filters.order_id

)

select * from final
