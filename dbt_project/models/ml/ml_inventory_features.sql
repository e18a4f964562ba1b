{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='delete+insert',
    unique_key='observation_id',
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where is_current_record{% endif %}"
) }}
{#- Incremental by the point-in-time rule, like ml_delivery_features. A count's row reads only
    what happened before it (and the count itself, its label), so a run recomputes the counts
    observed from the earliest instant a new batch can have changed: its earliest event, or the
    first stock position day rewritten since (fct_inventory_positions rewrites from the first
    day that changed). Every current record is recomputed ("now" moved), the old ones deleted
    first (the pre-hook), so a pair that left the positions leaves no stale record. A new
    reference file recomputes every row. -#}
-- One row per observation of a node/SKU stock record, with what was known just before it:
-- every cycle count (labelled: did it find an error beyond tolerance?) and, for scoring, every
-- current record as of now (`is_current_record`, unlabelled). Features come from events before
-- `observed_at` and from reference data; the record's level is its end-of-day position the day
-- before a count (the day of a count includes the count's own correction), and today's for a
-- current record.
with

counts as (

    select * from {{ ref('fct_inventory_counts') }}

),

positions as (

    select * from {{ ref('fct_inventory_positions') }}

),

adjustments as (

    select * from {{ ref('stg_oms__stock_adjustments') }}

),

rejections as (

    select * from {{ ref('stg_oms__line_rejections') }}

),

order_lines as (

    select * from {{ ref('int_order_lines') }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

skus as (

    select * from {{ ref('stg_reference__skus') }}

),

{% if is_incremental() -%}
{%- set through = built_through('_built_through_batch') %}
-- The earliest instant a batch since the last build can have changed a count's row: its
-- earliest event, or the first position day rewritten since (null: nothing new).
recompute_from as (

    select
        least(
            (
                select min(events.occurred_at) from {{ source('raw', 'events') }} as events
                where events.batch_id > {{ through }}
            ),
            (
                select cast(min(rewritten.position_date) as {{ dbt.type_timestamp() }})
                from positions as rewritten
                where rewritten._built_through_batch > {{ through }}
            )
        ) as observed_at

),

{% endif -%}
current_day as (

    select cast({{ as_of_timestamp() }} as date) as as_of_date

),

observations as (

    select
        counts.count_id,
        counts.node_id,
        counts.sku,
        counts.counted_at as observed_at,
        {{ dbt.dateadd('day', -1, 'counts.count_date') }} as position_date,
        false as is_current_record,
        not counts.is_accurate as is_inaccurate,
        counts.error_units as count_error_units
    from counts
    {%- if is_incremental() and not reference_changed_since(through) %}
    where counts.counted_at >= (select recompute_from.observed_at from recompute_from)
    {%- endif %}
    union all
    select
        cast(null as {{ dbt.type_string() }}) as count_id,
        positions.node_id,
        positions.sku,
        {{ as_of_timestamp() }} as observed_at,
        positions.position_date,
        true as is_current_record,
        cast(null as boolean) as is_inaccurate,
        cast(null as {{ dbt.type_bigint() }}) as count_error_units
    from positions
    inner join current_day on positions.position_date = current_day.as_of_date

),

observation_keys as (

    select
        observations.*,
        {{ dbt.concat([
            "observations.node_id", "'|'", "observations.sku", "'|'",
            "coalesce(observations.count_id, 'current')"
        ]) }} as observation_id
    from observations

),

-- The count before this one (or before now), and when the record was first seen.
previous_count as (

    select * from (
        select
            observation_keys.observation_id,
            counts.counted_at as previous_counted_at,
            counts.error_units as previous_error_units,
            counts.is_accurate as previous_is_accurate,
            row_number() over (
                partition by observation_keys.observation_id
                order by counts.counted_at desc, counts.count_id desc
            ) as recency_rank
        from observation_keys
        inner join counts
            on
                observation_keys.node_id = counts.node_id
                and observation_keys.sku = counts.sku
                and observation_keys.observed_at > counts.counted_at
    ) as ranked
    where recency_rank = 1

),

first_seen as (

    select
        node_id,
        sku,
        min(position_date) as first_position_date
    from positions
    group by node_id, sku

),

windows as (

    select
        observation_keys.*,
        previous_count.previous_counted_at,
        previous_count.previous_error_units,
        previous_count.previous_is_accurate,
        -- Since the last count, or since the record's first position when never counted.
        coalesce(
            previous_count.previous_counted_at,
            cast(first_seen.first_position_date as {{ dbt.type_timestamp() }})
        ) as since_at
    from observation_keys
    left join previous_count on observation_keys.observation_id = previous_count.observation_id
    left join first_seen
        on
            observation_keys.node_id = first_seen.node_id
            and observation_keys.sku = first_seen.sku

),

adjustments_since as (

    select
        windows.observation_id,
        sum(case when adjustments.adjustment_reason in ('shrink', 'damage') then -adjustments.quantity_delta else 0 end)
            as shrink_units_since_count,
        sum(case when adjustments.adjustment_reason = 'sale' then -adjustments.quantity_delta else 0 end)
            as units_sold_since_count,
        count(case when adjustments.adjustment_reason = 'correction' then 1 end) as corrections_since_count,
        count(case when adjustments.adjustment_reason = 'receipt' then 1 end) as receipts_since_count,
        count(case when adjustments.adjustment_reason = 'return_restock' then 1 end) as restocks_since_count,
        count(*) as adjustments_since_count
    from windows
    inner join adjustments
        on
            windows.node_id = adjustments.node_id
            and windows.sku = adjustments.sku
            and windows.since_at <= adjustments.adjusted_at
            and windows.observed_at > adjustments.adjusted_at
    group by windows.observation_id

),

-- The sales and positions a trailing window can reach: from the earliest window's start on. An
-- incremental run observes recent counts and today's records, so most of history comes before
-- every window, and leaving it out before the joins made the model a third faster.
recent_sales as (

    select adjustments.*
    from adjustments
    where
        adjustments.adjustment_reason = 'sale'
        and adjustments.adjusted_at >= {{ dbt.dateadd(
            'day', -var('ml_trailing_days'), '(select min(windows.observed_at) from windows)'
        ) }}

),

recent_positions as (

    select positions.*
    from positions
    where positions.position_date > {{ dbt.dateadd(
        'day', -var('ml_trailing_days'), '(select min(windows.position_date) from windows)'
    ) }}

),

sales as (

    select
        windows.observation_id,
        -sum(adjustments.quantity_delta) as units_sold_trailing
    from windows
    inner join recent_sales as adjustments
        on
            windows.node_id = adjustments.node_id
            and windows.sku = adjustments.sku
            and windows.observed_at > adjustments.adjusted_at
            and {{ dbt.dateadd('day', -var('ml_trailing_days'), 'windows.observed_at') }} <= adjustments.adjusted_at
    group by windows.observation_id

),

phantom_rejections as (

    select
        rejections.node_id,
        order_lines.sku,
        rejections.rejected_at
    from rejections
    inner join order_lines
        on
            rejections.order_id = order_lines.order_id
            and rejections.line_id = order_lines.line_id
    where rejections.rejection_reason = 'not_found'

),

rejections_since as (

    select
        windows.observation_id,
        count(*) as not_found_since_count
    from windows
    inner join phantom_rejections
        on
            windows.node_id = phantom_rejections.node_id
            and windows.sku = phantom_rejections.sku
            and windows.since_at <= phantom_rejections.rejected_at
            and windows.observed_at > phantom_rejections.rejected_at
    group by windows.observation_id

),

record_level as (

    select
        windows.observation_id,
        max(case when positions.position_date = windows.position_date then positions.on_hand end) as on_hand,
        max(case when positions.position_date = windows.position_date then positions.available_to_promise end)
            as available_to_promise,
        count(case when positions.on_hand <= 0 then 1 end) as empty_days_trailing
    from windows
    inner join recent_positions as positions
        on
            windows.node_id = positions.node_id
            and windows.sku = positions.sku
            and windows.position_date >= positions.position_date
            and {{ dbt.dateadd('day', -var('ml_trailing_days'), 'windows.position_date') }} < positions.position_date
    group by windows.observation_id

),

final as (

    select
        windows.observation_id,
        windows.count_id,
        windows.node_id,
        windows.sku,
        windows.observed_at,
        windows.is_current_record,
        nodes.node_type,
        skus.category,
        coalesce(skus.abc_class, 'unknown') as abc_class,
        skus.unit_price,
        {{ divide('coalesce(sales.units_sold_trailing, 0)', var('ml_trailing_days') ~ '.0') }} as units_sold_per_day,
        {{ seconds_between('windows.since_at', 'windows.observed_at') }} / 86400.0  -- noqa: LT05
            as days_since_count,
        windows.previous_counted_at is not null as has_previous_count,
        windows.previous_error_units as previous_count_error_units,
        abs(windows.previous_error_units) as previous_count_abs_error_units,
        windows.previous_is_accurate as previous_count_was_accurate,
        coalesce(adjustments_since.adjustments_since_count, 0) as adjustments_since_count,
        coalesce(adjustments_since.shrink_units_since_count, 0) as shrink_units_since_count,
        coalesce(adjustments_since.units_sold_since_count, 0) as units_sold_since_count,
        coalesce(adjustments_since.corrections_since_count, 0) as corrections_since_count,
        coalesce(adjustments_since.receipts_since_count, 0) as receipts_since_count,
        coalesce(adjustments_since.restocks_since_count, 0) as restocks_since_count,
        coalesce(rejections_since.not_found_since_count, 0) as not_found_since_count,
        record_level.on_hand,
        record_level.available_to_promise,
        coalesce(record_level.empty_days_trailing, 0) as empty_days_trailing,
        -- The outcome (not features): what the count found.
        windows.is_inaccurate,
        windows.count_error_units,
        -- The newest ingest batch this row was computed with: the incremental watermark.
        {{ newest_batch() }} as _built_through_batch
    from windows
    left join nodes on windows.node_id = nodes.node_id
    left join skus on windows.sku = skus.sku
    left join sales on windows.observation_id = sales.observation_id
    left join adjustments_since on windows.observation_id = adjustments_since.observation_id
    left join rejections_since on windows.observation_id = rejections_since.observation_id
    left join record_level on windows.observation_id = record_level.observation_id

)

select * from final
