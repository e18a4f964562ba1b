with

nodes as (

    select * from {{ source('raw', 'nodes') }}

),

final as (

    select
        nodes.node_id,
        nodes.node_type,
        nodes.name as node_name,
        nodes.region,
        nodes.country,
        nodes.lat,
        nodes.lon,
        nodes.daily_capacity_units,
        nodes.pick_pack_cost_per_unit,
        nodes.opened_on,
        nodes.batch_id as _batch_id
    from nodes

)

select * from final
