{{ config(materialized='table') }}
-- One row per day from the first event to the last event, as-of instant or promise,
-- so that every date a mart carries joins.
{#- The spine's bounds: the first event's day, and the day after the last event, as-of instant
    or promise (the spine's end is exclusive). Read in one query as the model compiles and
    written into its SQL as dates: on Spark each read of raw.events lists the lake's folders,
    and the spine would read it twice to count its days and twice more to bound them (about
    9 s of a build there, against 4 s now).
    sqlfluff and `dbt docs generate` compile against a warehouse that may not hold these
    relations yet: there the spine is today alone, rather than a compile error. A build always
    has them, since dim_date runs after both. -#}
{%- set first_day = 'current_date' -%}
{%- set after_last_day = dbt.dateadd('day', 1, 'current_date') -%}
{#- Named outside the branch, so that dbt's parser, which does not run it, sees both parents. -#}
{%- set raw_events, orders = source('raw', 'events'), ref('int_orders') -%}
{%- if execute and load_relation(raw_events) is not none and load_relation(orders) is not none -%}
    {%- set last_day = 'coalesce(cast(greatest(max(events.occurred_at), '
        ~ as_of_timestamp() ~ ', max(last_order.promised_by)) as date), current_date)' -%}
    {%- set bounds -%}
        select
            cast(coalesce(cast(min(events.occurred_at) as date), current_date) as {{ dbt.type_string() }}),
            cast(cast({{ dbt.dateadd('day', 1, last_day) }} as date) as {{ dbt.type_string() }})
        from {{ raw_events }} as events
        cross join (select max(promised_by) as promised_by from {{ orders }}) as last_order
    {%- endset -%}
    {%- set row = run_query(bounds).rows[0] -%}
    {%- set first_day = "cast('" ~ row[0] ~ "' as date)" -%}
    {%- set after_last_day = "cast('" ~ row[1] ~ "' as date)" -%}
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
