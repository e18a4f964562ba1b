{{ config(materialized='table') }}
-- One row per node from nodes.csv, with the pick/pack rate the cost model uses: the node's own
-- rate when nodes.csv gives one, else the cost model's default for its node type (flagged).
-- A node without a region (a vendor's often is unknown) is in region 'unknown', so figures by
-- region count it rather than drop it.
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
        coalesce(nodes.region, 'unknown') as region,
        nodes.region is null as region_is_unknown,
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
