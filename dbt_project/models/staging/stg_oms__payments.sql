with

payment_authorized_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.payment_authorized'
    {{ only_new_batches() }}

),

final as (

    select
        payment_authorized_events.event_id,
        payment_authorized_events.order_id,
        payment_authorized_events.occurred_at as authorized_at,
        payment_authorized_events.source as source_system,
        {{ json_number('payment_authorized_events.data', 'amount') }} as authorized_amount,
        {{ json_optional_text('payment_authorized_events.data', 'payment_method') }} as payment_method,
        payment_authorized_events.ingested_at as _ingested_at,
        payment_authorized_events.batch_id as _batch_id
    from payment_authorized_events

)

select * from final
