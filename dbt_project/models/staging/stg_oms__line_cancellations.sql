with

line_cancelled_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.line_cancelled'
    {{ only_new_batches() }}

),

final as (

    select
        line_cancelled_events.event_id,
        line_cancelled_events.order_id,
        {{ json_text('line_cancelled_events.data', 'line_id') }} as line_id,
        line_cancelled_events.occurred_at as cancelled_at,
        line_cancelled_events.source as source_system,
        {{ json_int('line_cancelled_events.data', 'quantity') }} as quantity,
        {{ json_text('line_cancelled_events.data', 'reason') }} as cancellation_reason,
        line_cancelled_events.ingested_at as _ingested_at,
        line_cancelled_events.batch_id as _batch_id
    from line_cancelled_events

)

select * from final
