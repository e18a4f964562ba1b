{%- set fields = {
    'line_id': 'text',
    'node_id': 'text',
    'quantity': 'int',
    'carrier': 'text',
    'service_level': 'text',
    'planned_ship_by': 'text',
    'estimated_ship_cost': 'number',
    'attempt': 'int',
} %}
with

line_allocated_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.line_allocated'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        line_allocated_events.*,
        {{ json_fields('line_allocated_events.data', fields) }} as payload
    from line_allocated_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        parsed.payload.line_id,
        parsed.occurred_at as allocated_at,
        parsed.source as source_system,
        parsed.payload.node_id,
        parsed.payload.quantity,
        parsed.payload.carrier,
        parsed.payload.service_level,
        {{ parse_rfc3339_utc('parsed.payload.planned_ship_by') }} as planned_ship_by,
        parsed.payload.estimated_ship_cost,
        parsed.payload.attempt,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
