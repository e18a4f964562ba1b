with

stock_snapshot_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'stock.snapshot'
    {{ only_new_batches() }}

),

final as (

    select
        stock_snapshot_events.event_id,
        {{ json_text('stock_snapshot_events.data', 'node_id') }} as node_id,
        {{ json_text('stock_snapshot_events.data', 'sku') }} as sku,
        stock_snapshot_events.occurred_at as snapshot_at,
        stock_snapshot_events.source as source_system,
        {{ json_int('stock_snapshot_events.data', 'on_hand') }} as on_hand,
        {{ json_int('stock_snapshot_events.data', 'reserved') }} as reserved,
        {{ json_int('stock_snapshot_events.data', 'in_transit') }} as in_transit,
        stock_snapshot_events.ingested_at as _ingested_at,
        stock_snapshot_events.batch_id as _batch_id
    from stock_snapshot_events

)

select * from final
