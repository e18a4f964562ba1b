with

return_received_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'return.received'
    {{ only_new_batches() }}

),

final as (

    select
        return_received_events.event_id,
        {{ json_text('return_received_events.data', 'return_id') }} as return_id,
        return_received_events.order_id,
        received_line.item_index as line_index,
        {{ json_text('received_line.item', 'line_id') }} as line_id,
        {{ json_int('received_line.item', 'quantity') }} as quantity,
        {{ json_text('received_line.item', 'disposition') }} as disposition,
        return_received_events.occurred_at as received_at,
        return_received_events.batch_id as _batch_id
    from return_received_events
    {{ unnest_json_array('return_received_events.data', 'lines', 'received_line') }}

)

select * from final
