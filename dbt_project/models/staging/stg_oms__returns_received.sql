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
        return_received_events.occurred_at as received_at,
        return_received_events.source as source_system,
        {{ json_text('return_received_events.data', 'node_id') }} as node_id,
        {{ json_number('return_received_events.data', 'return_shipping_cost') }} as return_shipping_cost,
        {{ json_array_size('return_received_events.data', 'lines') }} as line_count,
        return_received_events.ingested_at as _ingested_at,
        return_received_events.batch_id as _batch_id
    from return_received_events

)

select * from final
