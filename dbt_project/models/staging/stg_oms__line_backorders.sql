with

line_backordered_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.line_backordered'
    {{ only_new_batches() }}

),

final as (

    select
        line_backordered_events.event_id,
        line_backordered_events.order_id,
        {{ json_text('line_backordered_events.data', 'line_id') }} as line_id,
        line_backordered_events.occurred_at as backordered_at,
        line_backordered_events.source as source_system,
        {{ json_int('line_backordered_events.data', 'quantity') }} as quantity,
        {{ parse_rfc3339_utc(json_text('line_backordered_events.data', 'expected_at')) }} as expected_at,
        line_backordered_events.ingested_at as _ingested_at,
        line_backordered_events.batch_id as _batch_id
    from line_backordered_events

)

select * from final
