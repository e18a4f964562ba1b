{%- set fields = {
    'return_id': 'text',
    'node_id': 'text',
    'return_shipping_cost': 'number',
    'lines': ['json'],
} %}
with

return_received_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'return.received'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        return_received_events.*,
        {{ json_fields('return_received_events.data', fields) }} as payload
    from return_received_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.return_id,
        parsed.order_id,
        parsed.occurred_at as received_at,
        parsed.source as source_system,
        parsed.payload.node_id,
        parsed.payload.return_shipping_cost,
        {{ array_size('parsed.payload.lines') }} as line_count,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
