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

    select
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        filters.node_type,
        filters.region,
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
        returns.refund_cycle_days
    from returns
    inner join filters on returns.order_id = filters.order_id

)

select * from final
