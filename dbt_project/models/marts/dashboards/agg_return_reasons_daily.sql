{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rewritten_report_days() }}"
) }}
-- Returned lines per order placement day, filter values, category, reason and disposition, with
-- refunds and the refund cycle (refund issued - return received) as a sum and a count. Sums the
-- rows of fct_dashboard_returns.
-- Rebuilt by report day (macros/marts/incremental_report_days.sql): an incremental run deletes
-- and rebuilds every day from the first event of the orders with new events on, which holds
-- each day they counted on before and count on after it (an order's rows count on their own
-- days until its placement lands, then move to its placement day).
-- depends_on: {{ ref('int_order_batches') }}
with

returns as (

    select * from {{ ref('fct_dashboard_returns') }}
    {{ only_rewritten_report_days() }}

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
        -- Summed in whole seconds: a float sum of fractions depends on row order, and builds must
        -- agree to the bit, while whole numbers sum exactly. (Not over decimals: a day count such
        -- as 2.0065625 lies halfway at six places, which DuckDB rounds down and Spark up.)
        sum(round(refund_cycle_days * 86400)) / 86400 as refund_cycle_days_sum,
        count(refund_cycle_days) as refunded_lines,
        -- The newest ingest batch when the row was written: the incremental watermark.
        {{ newest_batch() }} as _built_through_batch
    from returns
    group by 1, 2, 3, 4, 5, 6, 7, 8

)

select * from final
