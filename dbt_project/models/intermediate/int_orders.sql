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

-- Most orders are placed once: only those placed more than once are ranked. Ranking every
-- order's placements was most of this model's time (docs/decisions.md).
placed_more_than_once as (

    select order_id
    from orders_placed
    group by order_id
    having count(*) > 1

),

later_placements as (

    select ranked.event_id
    from (
        select
            orders_placed.event_id,
            row_number() over (
                partition by orders_placed.order_id
                order by orders_placed.placed_at, orders_placed.event_id
            ) as placement_rank
        from orders_placed
        where orders_placed.order_id in (select placed_more_than_once.order_id from placed_more_than_once)
    ) as ranked
    where ranked.placement_rank > 1

),

-- Every staging column, by design: this model only removes re-sent placements.
final as (

    select
        orders_placed.*,  -- noqa: AM04
        batches._max_batch_id
    from orders_placed
    left join later_placements on orders_placed.event_id = later_placements.event_id
    left join batches on orders_placed.order_id = batches.order_id
    where later_placements.event_id is null

)

{{ select_by_order() }}
