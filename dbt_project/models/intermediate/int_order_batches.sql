-- The newest ingest batch holding an event of each order: the watermark of incremental marts.
select
    events.order_id,
    max(events.batch_id) as _max_batch_id
from {{ source('raw', 'events') }} as events
where events.order_id is not null
group by events.order_id
