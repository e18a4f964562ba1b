-- Returned lines per order placement day, filter values, category, reason and disposition, with
-- refunds and the refund cycle (refund issued - return received) as a sum and a count. Sums the
-- rows of fct_dashboard_returns.
with

returns as (

    select * from {{ ref('fct_dashboard_returns') }}

),

final as (

    select
        report_date,
        channel,
        fulfillment_method,
        node_type,
        region,
        category,
        return_reason,
        disposition,
        count(*) as returned_lines,
        sum(returned_quantity) as units_returned,
        sum(received_quantity) as units_received,
        sum(refund_amount) as refund_amount,
        -- Over decimals: a float sum depends on row order, and builds must agree to the bit.
        cast(sum(cast(refund_cycle_days as decimal(18, 6))) as double) as refund_cycle_days_sum,
        count(refund_cycle_days) as refunded_lines
    from returns
    group by 1, 2, 3, 4, 5, 6, 7, 8

)

select * from final
