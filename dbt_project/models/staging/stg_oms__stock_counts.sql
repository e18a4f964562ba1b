with

stock_counted_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'stock.counted'
    {{ only_new_batches() }}

),

final as (

    select
        stock_counted_events.event_id,
        {{ json_text('stock_counted_events.data', 'count_id') }} as count_id,
        {{ json_text('stock_counted_events.data', 'node_id') }} as node_id,
        {{ json_text('stock_counted_events.data', 'sku') }} as sku,
        stock_counted_events.occurred_at as counted_at,
        stock_counted_events.source as source_system,
        {{ json_int('stock_counted_events.data', 'system_quantity') }} as system_quantity,
        {{ json_int('stock_counted_events.data', 'counted_quantity') }} as counted_quantity,
        stock_counted_events.ingested_at as _ingested_at,
        stock_counted_events.batch_id as _batch_id
    from stock_counted_events

)

select * from final
