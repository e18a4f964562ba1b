with

shipment_exception_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.exception'
    {{ only_new_batches() }}

),

final as (

    select
        shipment_exception_events.event_id,
        {{ json_text('shipment_exception_events.data', 'shipment_id') }} as shipment_id,
        shipment_exception_events.order_id,
        shipment_exception_events.occurred_at as reported_at,
        shipment_exception_events.source as source_system,
        {{ json_text('shipment_exception_events.data', 'code') }} as exception_code,
        {{ json_optional_text('shipment_exception_events.data', 'detail') }} as exception_detail,
        shipment_exception_events.ingested_at as _ingested_at,
        shipment_exception_events.batch_id as _batch_id
    from shipment_exception_events

)

select * from final
