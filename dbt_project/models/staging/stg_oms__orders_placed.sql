{#- The fields of `data` this model reads, in the order json_values lists them. -#}
{%- set fields = [
    'channel',
    'customer_id',
    'fulfillment_method',
    'ship_to.postal_code',
    'ship_to.region',
    'ship_to.country',
    'ship_to.lat',
    'ship_to.lon',
    'pickup_node_id',
    'promised_by',
    'currency',
    'shipping_charged',
    'lines',
] %}
with

order_placed_events as (

    select * from {{ source('raw', 'events') }}
    where event_type = 'order.placed'
    {{ only_new_batches() }}

),

-- The fields of `data`, parsed once (macros/cross_engine/json_access.sql, json_values).
parsed as (

    select
        order_placed_events.*,
        {{ json_values('order_placed_events.data', fields) }} as data_values
    from order_placed_events

),

final as (

    select
        parsed.event_id,
        parsed.order_id,
        parsed.occurred_at as placed_at,
        parsed.source as source_system,
        {{ json_text(json_value('parsed.data_values', fields, 'channel')) }} as channel,
        {{ json_text(json_value('parsed.data_values', fields, 'customer_id')) }} as customer_id,
        {{ json_text(json_value('parsed.data_values', fields, 'fulfillment_method')) }} as fulfillment_method,
        {{ json_optional_text(
            json_value('parsed.data_values', fields, 'ship_to.postal_code')
        ) }} as ship_to_postal_code,
        {{ json_text(json_value('parsed.data_values', fields, 'ship_to.region')) }} as ship_to_region,
        {{ json_text(json_value('parsed.data_values', fields, 'ship_to.country')) }} as ship_to_country,
        {{ json_number(json_value('parsed.data_values', fields, 'ship_to.lat')) }} as ship_to_lat,
        {{ json_number(json_value('parsed.data_values', fields, 'ship_to.lon')) }} as ship_to_lon,
        {{ json_optional_text(json_value('parsed.data_values', fields, 'pickup_node_id')) }} as pickup_node_id,
        {{ parse_rfc3339_utc(json_text(json_value('parsed.data_values', fields, 'promised_by'))) }} as promised_by,
        {{ json_text(json_value('parsed.data_values', fields, 'currency')) }} as currency,
        {{ json_number(json_value('parsed.data_values', fields, 'shipping_charged')) }} as shipping_charged,
        {{ json_array_size(json_value('parsed.data_values', fields, 'lines')) }} as line_count,
        parsed.ingested_at as _ingested_at,
        parsed.batch_id as _batch_id
    from parsed

)

select * from final
