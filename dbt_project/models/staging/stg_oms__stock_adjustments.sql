with

stock_adjusted_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'stock.adjusted'
    {{ only_new_batches() }}

),

final as (

    select
        stock_adjusted_events.event_id,
        {{ json_text('stock_adjusted_events.data', 'node_id') }} as node_id,
        {{ json_text('stock_adjusted_events.data', 'sku') }} as sku,
        stock_adjusted_events.occurred_at as adjusted_at,
        stock_adjusted_events.source as source_system,
        {{ json_int('stock_adjusted_events.data', 'delta') }} as quantity_delta,
        {{ json_text('stock_adjusted_events.data', 'reason') }} as adjustment_reason,
        stock_adjusted_events.ingested_at as _ingested_at,
        stock_adjusted_events.batch_id as _batch_id
    from stock_adjusted_events

)

select * from final
