{{ config(
    materialized='incremental',
    incremental_strategy=order_keyed_strategy(),
    partition_by=order_keyed_partitions(),
    unique_key='order_id',
    on_schema_change='fail'
) }}
-- The five columns every dashboard mart is filtered by, once per order, so that each
-- dashboard mart joins them instead of repeating the rules:
--   report_date         the day the order was placed (UTC)
--   region              where the customer is: the ship-to region, or the pickup store's region
--   node_type           the order's primary node type ('unallocated' when none)
-- Each order's row follows from its own fct_orders row and the nodes file, so the table is
-- rebuilt by order like the facts (delete+insert by order_id; macros/marts/incremental_orders.sql).
with

orders as (

    select * from {{ ref('fct_orders') }}
    {{ only_touched_orders() }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

final as (

    select
        orders.order_id,
        orders.placed_date as report_date,
        orders.channel,
        orders.fulfillment_method,
        orders.primary_node_type as node_type,
        coalesce(orders.ship_to_region, pickup_nodes.region, 'unknown') as region,
        orders._max_batch_id
    from orders
    left join nodes as pickup_nodes on orders.pickup_node_id = pickup_nodes.node_id

)

{{ select_by_order() }}
