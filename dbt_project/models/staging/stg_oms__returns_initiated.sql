{%- set fields = {
    'return_id': 'text',
    'channel': 'text',
    'lines': ['json'],
} %}
with

return_initiated_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'return.initiated'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        return_initiated_events.*,
        {{ json_fields('return_initiated_events.data', fields) }} as payload
    from return_initiated_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.return_id,
        parsed.order_id,
        parsed.occurred_at as initiated_at,
        parsed.source as source_system,
        parsed.payload.channel as return_channel,
        {{ array_size('parsed.payload.lines') }} as line_count,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
