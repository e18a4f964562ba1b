{%- set fields = {
    'shipment_id': 'text',
    'node_id': 'text',
    'lines': ['json'],
} %}
with

shipment_packed_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.packed'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        shipment_packed_events.*,
        {{ json_fields('shipment_packed_events.data', fields) }} as payload
    from shipment_packed_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.shipment_id,
        parsed.order_id,
        parsed.occurred_at as packed_at,
        parsed.source as source_system,
        parsed.payload.node_id,
        {{ array_size('parsed.payload.lines') }} as line_count,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
