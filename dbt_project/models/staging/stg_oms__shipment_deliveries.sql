with

shipment_delivered_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.delivered'
    {{ only_new_batches() }}

),

final as (

    select
        shipment_delivered_events.event_id,
        {{ json_text('shipment_delivered_events.data', 'shipment_id') }} as shipment_id,
        shipment_delivered_events.order_id,
        shipment_delivered_events.occurred_at as delivered_at,
        shipment_delivered_events.source as source_system,
        shipment_delivered_events.ingested_at as _ingested_at,
        shipment_delivered_events.batch_id as _batch_id
    from shipment_delivered_events

)

select * from final
