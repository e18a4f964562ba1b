-- One row per order: the first order.placed of each order_id. An OMS that re-sends an order
-- under a new event_id must not count it twice; the staging test warns when that happens.
with

orders_placed as (

    select * from {{ ref('stg_oms__orders_placed') }}

),

first_placement as (

    select
        orders_placed.*,
        row_number() over (
            partition by orders_placed.order_id
            order by orders_placed.placed_at, orders_placed.event_id
        ) as placement_rank
    from orders_placed

)

select * exclude (placement_rank)
from first_placement
where placement_rank = 1
