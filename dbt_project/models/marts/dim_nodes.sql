{{ config(materialized='table') }}
-- One row per node from nodes.csv, with the pick/pack rate the cost model uses: the node's own
-- rate when nodes.csv gives one, else the cost model's default for its node type (flagged).
with

nodes as (

    select * from {{ ref('stg_reference__nodes') }}

),

default_rates as (

    select
        applies_to as node_type,
        rate
    from {{ ref('cost_model') }}
    where component = 'pick_pack'

),

final as (

    select
        nodes.node_id,
        nodes.node_type,
        nodes.node_name,
        nodes.region,
        nodes.country,
        nodes.lat,
        nodes.lon,
        nodes.daily_capacity_units,
        nodes.opened_on,
        cast(coalesce(nodes.pick_pack_cost_per_unit, default_rates.rate) as decimal(18, 4))
            as pick_pack_cost_per_unit,
        nodes.pick_pack_cost_per_unit is null as pick_pack_cost_is_default
    from nodes
    left join default_rates on nodes.node_type = default_rates.node_type

)

select * from final
