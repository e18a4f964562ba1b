-- Returned lines per order placement day, filter values, category, reason and disposition, with
-- refunds and the refund cycle (refund issued - return received) as a sum and a count.
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
        coalesce(returns.category, 'unknown') as category,
        coalesce(returns.return_reason, 'unknown') as return_reason,
        coalesce(returns.disposition, 'pending') as disposition,
        count(*) as returned_lines,
        sum(returns.returned_quantity) as units_returned,
        sum(returns.received_quantity) as units_received,
        sum(returns.refund_amount) as refund_amount,
        sum(returns.refund_cycle_days) as refund_cycle_days_sum,
        count(returns.refund_cycle_days) as refunded_lines
    from returns
    inner join filters on returns.order_id = filters.order_id
    group by 1, 2, 3, 4, 5, 6, 7, 8

)

select * from final
