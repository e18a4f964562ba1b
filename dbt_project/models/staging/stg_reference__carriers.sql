with

carriers as (

    select * from {{ source('raw', 'carriers') }}

),

final as (

    select
        carriers.carrier,
        carriers.service_level,
        carriers.transit_days,
        carriers.base_cost,
        carriers.cost_per_kg,
        carriers.batch_id as _batch_id
    from carriers

)

select * from final
