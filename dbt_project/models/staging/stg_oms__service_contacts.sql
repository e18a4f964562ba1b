with

service_contact_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'service.contact'
    {{ only_new_batches() }}

),

final as (

    select
        service_contact_events.event_id,
        {{ json_text('service_contact_events.data', 'contact_id') }} as contact_id,
        service_contact_events.order_id,
        service_contact_events.occurred_at as contacted_at,
        service_contact_events.source as source_system,
        {{ json_text('service_contact_events.data', 'channel') }} as contact_channel,
        {{ json_text('service_contact_events.data', 'topic') }} as topic,
        service_contact_events.ingested_at as _ingested_at,
        service_contact_events.batch_id as _batch_id
    from service_contact_events

)

select * from final
