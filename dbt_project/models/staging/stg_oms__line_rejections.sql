with

line_rejected_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.line_rejected'
    {{ only_new_batches() }}

),

final as (

    select
        line_rejected_events.event_id,
        line_rejected_events.order_id,
        {{ json_text('line_rejected_events.data', 'line_id') }} as line_id,
        line_rejected_events.occurred_at as rejected_at,
        line_rejected_events.source as source_system,
        {{ json_text('line_rejected_events.data', 'node_id') }} as node_id,
        {{ json_int('line_rejected_events.data', 'quantity') }} as quantity,
        {{ json_text('line_rejected_events.data', 'reason') }} as rejection_reason,
        line_rejected_events.ingested_at as _ingested_at,
        line_rejected_events.batch_id as _batch_id
    from line_rejected_events

)

select * from final
