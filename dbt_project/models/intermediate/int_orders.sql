-- One row per order: the first order.placed of each order_id. An OMS that re-sends an order
-- under a new event_id must not count it twice; the staging test warns when that happens.
-- Ranked within an order only, so the touched orders' placements alone give their rows.
with

orders_placed as (

    select * from {{ ref('stg_oms__orders_placed') }}
    {{ only_touched_orders() }}

),

batches as (

    select * from {{ ref('int_order_batches') }}
    {{ only_touched_orders() }}

),

first_placement as (

    select ranked.event_id
    from (
        select
            orders_placed.event_id,
            row_number() over (
                partition by orders_placed.order_id
                order by orders_placed.placed_at, orders_placed.event_id
            ) as placement_rank
        from orders_placed
    ) as ranked
    where ranked.placement_rank = 1

)

-- Every staging column, by design: this model only removes re-sent placements.
select
    orders_placed.*,  -- noqa: AM04
    batches._max_batch_id
from orders_placed
inner join first_placement on orders_placed.event_id = first_placement.event_id
left join batches on orders_placed.order_id = batches.order_id
