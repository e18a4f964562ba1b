{%- set fields = {
    'shipment_id': 'text',
    'code': 'text',
    'detail': 'text',
} %}
with

shipment_exception_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.exception'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        shipment_exception_events.*,
        {{ json_fields('shipment_exception_events.data', fields) }} as payload
    from shipment_exception_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.shipment_id,
        parsed.order_id,
        parsed.occurred_at as reported_at,
        parsed.source as source_system,
        parsed.payload.code as exception_code,
        {{ optional_text('parsed.payload.detail') }} as exception_detail,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
