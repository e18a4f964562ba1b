{%- set fields = {
    'lines': [{'line_id': 'text', 'sku': 'text', 'quantity': 'int', 'unit_price': 'number'}],
} %}
with

order_placed_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.placed'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        order_placed_events.*,
        {{ json_fields('order_placed_events.data', fields) }} as payload
    from order_placed_events

),

-- One row per element of `lines`.
order_lines as (

    select
        parsed.*,
        order_line.item,
        order_line.item_index
    from parsed
    {{ unnest_array('parsed.payload.lines', 'order_line') }}

),

final as (

    select
        order_lines.event_id,
        order_lines.order_id,
        order_lines.item_index as line_index,
        order_lines.item.line_id,
        order_lines.item.sku,
        order_lines.item.quantity,
        order_lines.item.unit_price,
        order_lines.occurred_at as placed_at,
        order_lines.batch_id as _batch_id
    from order_lines

)

select * from final
