-- Each node's stock record on the latest position day: units on hand, reserved and available
-- to promise, and how many SKUs have nothing to promise. node_region is the node's network
-- region (customer regions are state-level).
with

positions as (

    select * from {{ ref('fct_inventory_positions') }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

latest_day as (

    select max(positions.position_date) as position_date
    from positions

),

latest as (

    select positions.*
    from positions
    inner join latest_day on positions.position_date = latest_day.position_date

),

final as (

    select
        latest.position_date as report_date,
        latest.node_id,
        coalesce(latest.node_type, 'unknown') as node_type,
        coalesce(nodes.region, 'unknown') as node_region,
        count(*) as skus,
        sum(latest.on_hand) as on_hand,
        sum(latest.reserved) as reserved,
        sum(latest.in_transit) as in_transit,
        sum(latest.available_to_promise) as available_to_promise,
        sum(case when latest.available_to_promise = 0 then 1 else 0 end) as skus_without_atp,
        sum(case when latest.is_negative_on_hand then 1 else 0 end) as skus_negative_on_hand
    from latest
    left join nodes on latest.node_id = nodes.node_id
    group by 1, 2, 3, 4

)

select * from final
