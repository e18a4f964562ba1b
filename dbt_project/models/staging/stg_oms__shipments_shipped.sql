{#- The fields of `data` this model reads, in the order json_values lists them. -#}
{%- set fields = [
    'shipment_id',
    'node_id',
    'carrier',
    'service_level',
    'tracking_number',
    'shipping_cost',
    'weight_kg',
    'lines',
] %}
with

shipment_shipped_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'shipment.shipped'
    {{ only_new_batches() }}

),

-- The fields of `data`, parsed once (macros/cross_engine/json_access.sql, json_values).
parsed as (

    select
        shipment_shipped_events.*,
        {{ json_values('shipment_shipped_events.data', fields) }} as data_values
    from shipment_shipped_events

),

final as (

    select
        parsed.event_id,
        {{ json_text(json_value('parsed.data_values', fields, 'shipment_id')) }} as shipment_id,
        parsed.order_id,
        parsed.occurred_at as shipped_at,
        parsed.source as source_system,
        {{ json_text(json_value('parsed.data_values', fields, 'node_id')) }} as node_id,
        {{ json_text(json_value('parsed.data_values', fields, 'carrier')) }} as carrier,
        {{ json_text(json_value('parsed.data_values', fields, 'service_level')) }} as service_level,
        {{ json_optional_text(json_value('parsed.data_values', fields, 'tracking_number')) }} as tracking_number,
        {{ json_number(json_value('parsed.data_values', fields, 'shipping_cost')) }} as shipping_cost,
        {{ json_number(json_value('parsed.data_values', fields, 'weight_kg')) }} as weight_kg,
        {{ json_array_size(json_value('parsed.data_values', fields, 'lines')) }} as line_count,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
