-- Events in, orders out: every order with a landed order.placed event is one row of
-- fct_orders, and fct_orders holds no order without one. Returns each order on one side only.
-- Attached to fct_orders, so Dagster shows it as that asset's check.
-- Reads all of history: runs on full builds and in the nightly full check.
{{ config(tags=['whole_history'], meta={'dagster': {'ref': {'name': 'fct_orders'}}}) }}

with

placed as (

    select distinct order_id
    from {{ source('raw', 'events') }}
    where event_type = 'order.placed'

),

orders as (

    select order_id from {{ ref('fct_orders') }}

),

unmatched as (

    select
        coalesce(placed.order_id, orders.order_id) as order_id,
        case when orders.order_id is null then 'placed, not in fct_orders'
            else 'in fct_orders, never placed' end as problem
    from placed
    full outer join orders on placed.order_id = orders.order_id
    where placed.order_id is null or orders.order_id is null

)

select * from unmatched
