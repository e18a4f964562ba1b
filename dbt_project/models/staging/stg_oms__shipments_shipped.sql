{%- set fields = {
    'shipment_id': 'text',
    'node_id': 'text',
    'carrier': 'text',
    'service_level': 'text',
    'tracking_number': 'text',
    'shipping_cost': 'number',
    'weight_kg': 'number',
    'lines': ['json'],
} %}
with

shipment_shipped_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.shipped'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        shipment_shipped_events.*,
        {{ json_fields('shipment_shipped_events.data', fields) }} as payload
    from shipment_shipped_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.shipment_id,
        parsed.order_id,
        parsed.occurred_at as shipped_at,
        parsed.source as source_system,
        parsed.payload.node_id,
        parsed.payload.carrier,
        parsed.payload.service_level,
        {{ optional_text('parsed.payload.tracking_number') }} as tracking_number,
        parsed.payload.shipping_cost,
        parsed.payload.weight_kg,
        {{ array_size('parsed.payload.lines') }} as line_count,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
