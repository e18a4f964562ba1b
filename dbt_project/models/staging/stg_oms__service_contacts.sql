{%- set fields = {
    'contact_id': 'text',
    'channel': 'text',
    'topic': 'text',
} %}
with

service_contact_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'service.contact'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        service_contact_events.*,
        {{ json_fields('service_contact_events.data', fields) }} as payload
    from service_contact_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.contact_id,
        parsed.order_id,
        parsed.occurred_at as contacted_at,
        parsed.source as source_system,
        parsed.payload.channel as contact_channel,
        parsed.payload.topic,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
