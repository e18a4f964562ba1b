with

order_placed_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.placed'
    {{ only_new_batches() }}

),

final as (

    select
        order_placed_events.event_id,
        order_placed_events.order_id,
        order_line.item_index as line_index,
        {{ json_text('order_line.item', 'line_id') }} as line_id,
        {{ json_text('order_line.item', 'sku') }} as sku,
        {{ json_int('order_line.item', 'quantity') }} as quantity,
        {{ json_number('order_line.item', 'unit_price') }} as unit_price,
        order_placed_events.occurred_at as placed_at,
        order_placed_events.batch_id as _batch_id
    from order_placed_events
    {{ unnest_json_array('order_placed_events.data', 'lines', 'order_line') }}

)

select * from final
