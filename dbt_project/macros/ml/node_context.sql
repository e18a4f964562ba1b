{#-
  A node's point-in-time context for any (order, node) pairs: the same definitions for the node an
  order was allocated to (ml_delivery_features) and for a node it could have been allocated to
  (ml_shadow_candidates). `pairs` names a CTE with order_id, node_id, ship_to_region, cutoff_at
  and cutoff_date; each of the first three macros is the body of a CTE keyed by (order_id,
  node_id), and `node_context_columns` selects the model's features from them. Trailing figures
  use whole days completed before the cutoff's day (var ml_trailing_days); the backlog is the
  node's open work at the cutoff instant.
-#}

{% macro ml_trailing_start(pairs) -%}
    {{ dbt.dateadd('day', -var('ml_trailing_days'), pairs ~ '.cutoff_date') }}
{%- endmacro %}


{#- node_history and lane_history depend on a pair's node (and destination region) and its
    cutoff's day alone, so they are computed once per such key and joined back to the pairs: on
    1,000,000 orders there are about 36,000 node-days where there are a million orders, and
    joining each order to its node's whole history made 6.5 million rows for one day's 8,771. -#}
{% macro node_history(pairs, node_days) %}
    -- The trailing window, and all history before the cutoff's day: a node's own reliability
    -- shows through its daily noise only over many deliveries.
    select
        {{ pairs }}.order_id,
        {{ pairs }}.node_id,
        node_day_history.node_deliveries,
        node_day_history.node_late_deliveries,
        node_day_history.node_allocations,
        node_day_history.node_rejections,
        node_day_history.node_deliveries_all,
        node_day_history.node_late_deliveries_all
    from {{ pairs }}
    inner join (
        select
            pair_days.node_id,
            pair_days.cutoff_date,
            sum(case when {{ node_days }}.activity_date >= {{ ml_trailing_start('pair_days') }} then {{ node_days }}.deliveries end)
                as node_deliveries,
            sum(case when {{ node_days }}.activity_date >= {{ ml_trailing_start('pair_days') }} then {{ node_days }}.late_deliveries end)
                as node_late_deliveries,
            sum(case when {{ node_days }}.activity_date >= {{ ml_trailing_start('pair_days') }} then {{ node_days }}.allocations end)
                as node_allocations,
            sum(case when {{ node_days }}.activity_date >= {{ ml_trailing_start('pair_days') }} then {{ node_days }}.rejections end)
                as node_rejections,
            sum({{ node_days }}.deliveries) as node_deliveries_all,
            sum({{ node_days }}.late_deliveries) as node_late_deliveries_all
        from (select distinct node_id, cutoff_date from {{ pairs }}) as pair_days
        inner join {{ node_days }}
            on
                pair_days.node_id = {{ node_days }}.node_id
                and {{ node_days }}.activity_date < pair_days.cutoff_date
        group by pair_days.node_id, pair_days.cutoff_date
    ) as node_day_history
        on
            {{ pairs }}.node_id = node_day_history.node_id
            and {{ pairs }}.cutoff_date = node_day_history.cutoff_date
{% endmacro %}


{% macro lane_history(pairs, shipment_outcomes) %}
    -- How long the lane (node to destination region) has recently taken beyond the promised
    -- transit.
    select
        {{ pairs }}.order_id,
        {{ pairs }}.node_id,
        lane_day_history.lane_extra_transit_days,
        lane_day_history.lane_deliveries_trailing
    from {{ pairs }}
    inner join (
        select
            pair_days.node_id,
            pair_days.ship_to_region,
            pair_days.cutoff_date,
            {{ divide('sum(lane_days.extra_transit_days) * 1.0', 'nullif(sum(lane_days.deliveries), 0)') }} as lane_extra_transit_days,
            sum(lane_days.deliveries) as lane_deliveries_trailing
        from (select distinct node_id, ship_to_region, cutoff_date from {{ pairs }}) as pair_days
        inner join (
            select
                node_id,
                ship_to_region,
                outcome_date,
                count(*) as deliveries,
                sum(extra_transit_days) as extra_transit_days
            from {{ shipment_outcomes }}
            group by node_id, ship_to_region, outcome_date
        ) as lane_days
            on
                pair_days.node_id = lane_days.node_id
                and pair_days.ship_to_region = lane_days.ship_to_region
                and lane_days.outcome_date < pair_days.cutoff_date
                and lane_days.outcome_date >= {{ ml_trailing_start('pair_days') }}
        group by pair_days.node_id, pair_days.ship_to_region, pair_days.cutoff_date
    ) as lane_day_history
        on
            {{ pairs }}.node_id = lane_day_history.node_id
            and {{ pairs }}.ship_to_region = lane_day_history.ship_to_region
            and {{ pairs }}.cutoff_date = lane_day_history.cutoff_date
{% endmacro %}


{% macro node_backlog(pairs, allocation_spans) %}
    -- The node's open work at the cutoff: units of allocated lines not yet packed, shipped,
    -- rejected or cancelled (ml_allocation_spans), that is the units allocated before the cutoff
    -- less those closed before it. A running total over the node's moves (+units when a span
    -- opens, -units when it closes) read at each pair's cutoff, slotted in as a move of no units
    -- that sorts before any move at the same instant (a span opened at the cutoff is not open
    -- yet, one closed at the cutoff still is). Joining each pair to every span of its node and
    -- filtering by time gave the same figures in 413 s of a 1,000,000-order world's build; this
    -- is one sort.
    select
        order_id,
        node_id,
        backlog_units
    from (
        select
            moves.order_id,
            moves.node_id,
            sum(moves.units) over (
                partition by moves.node_id
                order by moves.moved_at, moves.is_move
                rows between unbounded preceding and current row
            ) as backlog_units
        from (
            select node_id, allocated_at as moved_at, 1 as is_move, quantity as units, cast(null as {{ dbt.type_string() }}) as order_id
            from {{ allocation_spans }}
            union all
            select node_id, closed_at as moved_at, 1 as is_move, -quantity as units, cast(null as {{ dbt.type_string() }}) as order_id
            from {{ allocation_spans }}
            union all
            select distinct node_id, cutoff_at as moved_at, 0 as is_move, 0 as units, order_id
            from {{ pairs }}
        ) as moves
    ) as running
    where order_id is not null
{% endmacro %}


{% macro node_context_columns(nodes, node_history, lane_history, node_backlog) -%}
        coalesce({{ node_history }}.node_deliveries, 0) as node_deliveries_trailing,
        {{ divide(node_history ~ '.node_late_deliveries * 1.0', 'nullif(' ~ node_history ~ '.node_deliveries, 0)') }} as node_late_rate,
        {{ divide(node_history ~ '.node_rejections * 1.0', 'nullif(' ~ node_history ~ '.node_allocations, 0)') }} as node_rejection_rate,
        coalesce({{ node_history }}.node_deliveries_all, 0) as node_deliveries_before,
        {{ divide(
            node_history ~ '.node_late_deliveries_all * 1.0',
            'nullif(' ~ node_history ~ '.node_deliveries_all, 0)'
        ) }} as node_late_rate_before,
        {{ lane_history }}.lane_extra_transit_days,
        coalesce({{ lane_history }}.lane_deliveries_trailing, 0) as lane_deliveries_trailing,
        coalesce({{ node_backlog }}.backlog_units, 0) as node_backlog_units,
        {{ divide(
            'coalesce(' ~ node_backlog ~ '.backlog_units, 0) * 1.0',
            'nullif(' ~ nodes ~ '.daily_capacity_units, 0)'
        ) }} as node_backlog_days
{%- endmacro %}
