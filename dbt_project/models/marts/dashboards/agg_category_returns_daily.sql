-- Units and value sold and returned per order placement day, filter values and category: the
-- return rate of the orders placed in a period (returns count against the order they came from).
with

lines as (

    select * from {{ ref('fct_order_lines') }}

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
        coalesce(lines.category, 'unknown') as category,
        sum(lines.shipped_quantity) as units_sold,
        sum(lines.returned_quantity) as units_returned,
        sum(lines.ordered_value - lines.cancelled_value) as value_sold,
        sum(lines.returned_value) as value_returned
    from lines
    inner join filters on lines.order_id = filters.order_id
    group by 1, 2, 3, 4, 5, 6

)

select * from final
