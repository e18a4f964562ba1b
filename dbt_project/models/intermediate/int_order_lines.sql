-- The lines of each order as first placed (see int_orders), one row per order and line_id.
with

orders as (

    select * from {{ ref('int_orders') }}
    {{ only_touched_orders() }}

),

order_lines as (

    select * from {{ ref('stg_oms__order_lines') }}
    {{ only_touched_orders() }}

),

final as (

    select
        order_lines.order_id,
        order_lines.line_id,
        order_lines.line_index,
        order_lines.sku,
        order_lines.quantity as ordered_quantity,
        order_lines.unit_price,
        order_lines.quantity * order_lines.unit_price as ordered_value,
        orders._max_batch_id
    from order_lines
    inner join orders on order_lines.event_id = orders.event_id

)

{{ select_by_order() }}
