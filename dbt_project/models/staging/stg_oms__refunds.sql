{%- set fields = {
    'return_id': 'text',
    'amount': 'number',
    'reason': 'text',
} %}
with

refund_issued_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'refund.issued'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        refund_issued_events.*,
        {{ json_fields('refund_issued_events.data', fields) }} as payload
    from refund_issued_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        {{ optional_text('parsed.payload.return_id') }} as return_id,
        parsed.occurred_at as issued_at,
        parsed.source as source_system,
        parsed.payload.amount as refund_amount,
        {{ optional_text('parsed.payload.reason') }} as refund_reason,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
