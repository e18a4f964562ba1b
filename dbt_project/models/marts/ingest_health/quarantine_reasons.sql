-- Quarantined lines per reason and file: what to fix, and where. Rebuilt whole (table).
with

quarantine as (

    select
        reason,
        file
    from {{ source('raw', 'quarantine') }}

),

final as (

    select
        reason,
        file,
        count(*) as lines
    from quarantine
    group by reason, file

)

select * from final
order by lines desc
