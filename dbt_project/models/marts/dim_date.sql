{{ config(materialized='table') }}
-- One row per day from the first event to the last event, as-of instant or promise,
-- so that every date a mart carries joins.
{% set first_day -%}
    (select coalesce(cast(min(first_event.occurred_at) as date), current_date)
     from {{ source('raw', 'events') }} as first_event)
{%- endset -%}
{#- One day past the last event, as-of instant or promise: the spine's end is exclusive. -#}
{%- set last_day = 'coalesce(cast(greatest(max(last_event.occurred_at), '
    ~ as_of_timestamp() ~ ', max(last_order.promised_by)) as date), current_date)' -%}
{%- set after_last_day -%}
    (select {{ dbt.dateadd('day', 1, last_day) }}
     from {{ source('raw', 'events') }} as last_event
     cross join (select max(promised_by) as promised_by from {{ ref('int_orders') }}) as last_order)
{%- endset -%}
{#- The spine's bounds are queried while compiling. sqlfluff and `dbt docs generate` compile
    against a warehouse that may not hold these relations yet: there the spine is today alone,
    rather than a compile error. A build always has them, since dim_date runs after both. -#}
{%- if execute and (load_relation(source('raw', 'events')) is none
        or load_relation(ref('int_orders')) is none) -%}
    {%- set first_day = 'current_date' -%}
    {%- set after_last_day = dbt.dateadd('day', 1, 'current_date') -%}
{%- endif %}

with

days as (

    {{ dbt.date_spine(datepart='day', start_date=first_day, end_date=after_last_day) }}

),

final as (

    select
        cast(days.date_day as date) as date_day,
        extract(year from days.date_day) as year_number,
        extract(quarter from days.date_day) as quarter_number,
        extract(month from days.date_day) as month_number,
        {{ iso_weekday('days.date_day') }} as iso_weekday,
        cast({{ dbt.date_trunc('week', 'days.date_day') }} as date) as week_start,
        cast({{ dbt.date_trunc('month', 'days.date_day') }} as date) as month_start,
        {{ iso_weekday('days.date_day') }} in (6, 7) as is_weekend
    from days

)

select * from final
