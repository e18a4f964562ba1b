-- Landed events per type, with the first and last time one happened: the Data intake page's
-- volumes. Rebuilt whole (table).
with

events as (

    select
        event_type,
        occurred_at
    from {{ source('raw', 'events') }}

),

final as (

    select
        event_type,
        count(*) as events,
        min(occurred_at) as first_at,
        max(occurred_at) as last_at
    from events
    group by event_type

)

select * from final
order by event_type
