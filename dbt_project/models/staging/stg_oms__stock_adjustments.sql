{%- set fields = {
    'node_id': 'text',
    'sku': 'text',
    'delta': 'int',
    'reason': 'text',
} %}
with

stock_adjusted_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'stock.adjusted'
    {{ only_new_batches() }}

),

-- The fields of `data` this model reads, parsed once into a struct (macros/cross_engine/json_access.sql).
parsed as (

    select
        stock_adjusted_events.*,
        {{ json_fields('stock_adjusted_events.data', fields) }} as payload
    from stock_adjusted_events

),

final as (

    select
        parsed.event_id,
        parsed.payload.node_id,
        parsed.payload.sku,
        parsed.occurred_at as adjusted_at,
        parsed.source as source_system,
        parsed.payload.delta as quantity_delta,
        parsed.payload.reason as adjustment_reason,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
