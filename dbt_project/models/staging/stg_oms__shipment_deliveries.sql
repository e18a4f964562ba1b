{%- set fields = {
    'shipment_id': 'text',
} %}
with

shipment_delivered_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.delivered'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        shipment_delivered_events.*,
        {{ json_fields('shipment_delivered_events.data', fields) }} as payload
    from shipment_delivered_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.shipment_id,
        parsed.order_id,
        parsed.occurred_at as delivered_at,
        parsed.source as source_system,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
