{%- set fields = {
    'line_id': 'text',
    'node_id': 'text',
    'quantity': 'int',
    'reason': 'text',
} %}
with

line_rejected_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.line_rejected'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        line_rejected_events.*,
        {{ json_fields('line_rejected_events.data', fields) }} as payload
    from line_rejected_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        parsed.payload.line_id,
        parsed.occurred_at as rejected_at,
        parsed.source as source_system,
        parsed.payload.node_id,
        parsed.payload.quantity,
        parsed.payload.reason as rejection_reason,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
