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
        -- `lines` is a keyword, and the name the Data intake page reads.
        count(*) as lines  -- noqa: RF04
    from quarantine
    group by reason, file

)

select * from final
order by lines desc
