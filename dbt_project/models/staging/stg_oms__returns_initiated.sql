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
        return_initiated_events.occurred_at as initiated_at,
        return_initiated_events.source as source_system,
        {{ json_text('return_initiated_events.data', 'channel') }} as return_channel,
        {{ json_array_size('return_initiated_events.data', 'lines') }} as line_count,
        return_initiated_events.ingested_at as _ingested_at,
        return_initiated_events.batch_id as _batch_id
    from return_initiated_events

)

select * from final
