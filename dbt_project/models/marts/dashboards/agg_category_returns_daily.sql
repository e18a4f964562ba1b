{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rewritten_report_days() }}"
) }}
-- Units and value sold and returned per order placement day, filter values and category: the
-- return rate of the orders placed in a period (returns count against the order they came from).
-- Rebuilt by report day (macros/marts/incremental_report_days.sql): an incremental run deletes
-- and rebuilds every day from the first event of the orders with new events on, which holds
-- each day they counted on before and count on after it (here their placement days).
-- depends_on: {{ ref('int_order_batches') }}
with

lines as (

    select * from {{ ref('fct_order_lines') }}

),

filters as (

    select * from {{ ref('dim_order_filters') }}
    {{ only_rewritten_report_days() }}

),

final as (

    select
        filters.report_date,
        filters.channel,
        filters.fulfillment_method,
        filters.node_type,
        filters.region,
        coalesce(lines.category, 'unknown') as category,
        sum(lines.shipped_quantity) as units_sold,
        sum(lines.returned_quantity) as units_returned,
        sum(lines.ordered_value - lines.cancelled_value) as value_sold,
        sum(lines.returned_value) as value_returned,
        -- The newest ingest batch when the row was written: the incremental watermark.
        {{ newest_batch() }} as _built_through_batch
    from lines
    inner join filters on lines.order_id = filters.order_id
    group by 1, 2, 3, 4, 5, 6

)

select * from final
