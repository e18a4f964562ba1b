{%- set fields = {
    'line_id': 'text',
    'quantity': 'int',
    'expected_at': 'text',
} %}
with

line_backordered_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.line_backordered'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        line_backordered_events.*,
        {{ json_fields('line_backordered_events.data', fields) }} as payload
    from line_backordered_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        parsed.payload.line_id,
        parsed.occurred_at as backordered_at,
        parsed.source as source_system,
        parsed.payload.quantity,
        {{ parse_rfc3339_utc('parsed.payload.expected_at') }} as expected_at,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
