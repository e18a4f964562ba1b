with

return_initiated_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'return.initiated'
    {{ only_new_batches() }}

),

final as (

    select
        return_initiated_events.event_id,
        {{ json_text('return_initiated_events.data', 'return_id') }} as return_id,
        return_initiated_events.order_id,
        return_line.item_index as line_index,
        {{ json_text('return_line.item', 'line_id') }} as line_id,
        {{ json_int('return_line.item', 'quantity') }} as quantity,
        {{ json_text('return_line.item', 'reason') }} as return_reason,
        return_initiated_events.occurred_at as initiated_at,
        return_initiated_events.batch_id as _batch_id
    from return_initiated_events
    {{ unnest_json_array('return_initiated_events.data', 'lines', 'return_line') }}

)

select * from final
