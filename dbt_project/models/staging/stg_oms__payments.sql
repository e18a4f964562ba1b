{%- set fields = {
    'amount': 'number',
    'payment_method': 'text',
} %}
with

payment_authorized_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.payment_authorized'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        payment_authorized_events.*,
        {{ json_fields('payment_authorized_events.data', fields) }} as payload
    from payment_authorized_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        parsed.occurred_at as authorized_at,
        parsed.source as source_system,
        parsed.payload.amount as authorized_amount,
        {{ optional_text('parsed.payload.payment_method') }} as payment_method,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
