with

refund_issued_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'refund.issued'
    {{ only_new_batches() }}

),

final as (

    select
        refund_issued_events.event_id,
        refund_issued_events.order_id,
        {{ json_optional_text('refund_issued_events.data', 'return_id') }} as return_id,
        refund_issued_events.occurred_at as issued_at,
        refund_issued_events.source as source_system,
        {{ json_number('refund_issued_events.data', 'amount') }} as refund_amount,
        {{ json_optional_text('refund_issued_events.data', 'reason') }} as refund_reason,
        refund_issued_events.ingested_at as _ingested_at,
        refund_issued_events.batch_id as _batch_id
    from refund_issued_events

)

select * from final
