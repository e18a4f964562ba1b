-- Per reason, the newest quarantined lines: enough to see the pattern without copying a broken
-- export wholesale. Rebuilt whole (table).
{% set lines_per_reason = 200 %}

with

quarantine as (

    select
        file,
        line_no,
        reason,
        detail,
        raw,
        batch_id
    from {{ source('raw', 'quarantine') }}

),

ranked as (

    select
        quarantine.*,
        row_number() over (
            partition by quarantine.reason
            order by quarantine.batch_id desc, quarantine.file asc, quarantine.line_no asc
        ) as rank_in_reason
    from quarantine

),

final as (

    select
        file,
        line_no,
        reason,
        detail,
        raw
    from ranked
    where rank_in_reason <= {{ lines_per_reason }}

)

select * from final
order by reason, file, line_no
