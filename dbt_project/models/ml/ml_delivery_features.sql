{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='delete+insert',
    unique_key='order_id',
    on_schema_change='fail'
) }}
-- One row per allocated order: what the retailer knew at the order's first allocation
-- (`cutoff_at`), and whether the promise was missed. Every feature comes from events before
-- `cutoff_at` (the order's own placement and first allocation at it) or from reference data;
-- trailing rates use whole days completed before the cutoff's day. tests/test_ml.py
-- proves it: dropping or moving every event after a cutoff leaves the rows up to it unchanged.
-- The CTEs read in several places are not materialized (macros/cross_engine/ctes.sql), but for
-- those narrowed to the orders an incremental run recomputes, `base`, and the two narrow groups
-- of per-order features the final join reads (`trailing_context`, `recent_windows`).
with

{% if is_incremental() -%}
-- Only the rows a new batch can change (macros/ml/delivery_recompute.sql), chosen first so that
-- the per-order steps (first allocation, the deciding allocation, order size) read their rows
-- alone: filtered at the end, the deciding allocation's window ran over every allocation.
recomputed as (
{{ delivery_features_to_recompute(ref('int_orders')) }}
),

{% endif -%}
orders as {{ not_materialized() }} (

    select * from {{ ref('int_orders') }}

),

order_lines as (

    select * from {{ ref('int_order_lines') }}
    {%- if is_incremental() %}
    where order_id in (select recomputed.order_id from recomputed)
    {%- endif %}

),

allocations as {{ materialized_if_incremental() }} (

    select * from {{ ref('stg_oms__line_allocations') }}
    {%- if is_incremental() %}
    where order_id in (select recomputed.order_id from recomputed)
    {%- endif %}

),

shipped as {{ not_materialized() }} (

    select * from {{ ref('stg_oms__shipments_shipped') }}

),

exceptions as {{ not_materialized() }} (

    select * from {{ ref('stg_oms__shipment_exceptions') }}

),

nodes as (

    select * from {{ ref('dim_nodes') }}

),

carriers as (

    select * from {{ ref('dim_carriers') }}

),

shipment_outcomes as {{ not_materialized() }} (

    select * from {{ ref('ml_shipment_outcomes') }}

),

node_days as (

    select * from {{ ref('ml_node_days') }}

),

allocation_spans as {{ not_materialized() }} (

    select * from {{ ref('ml_allocation_spans') }}

),

skus as (

    select * from {{ ref('stg_reference__skus') }}

),

outcomes as (

    select * from {{ ref('fct_orders') }}

),

order_areas as {{ not_materialized() }} (

    select * from {{ ref('ml_order_areas') }}

),

-- The first sourcing decision: every line allocated at the order's first allocation instant.
first_allocated as {{ materialized_if_incremental() }} (

    select
        order_id,
        min(allocated_at) as cutoff_at
    from allocations
    group by order_id

),

decision as {{ not_materialized() }} (

    select
        allocations.*,
        -- The allocation that ships last stands for the order: it decides the promise.
        row_number() over (
            partition by allocations.order_id
            order by allocations.planned_ship_by desc, allocations.line_id asc, allocations.node_id asc
        ) as lateness_rank
    from allocations
    inner join first_allocated
        on
            allocations.order_id = first_allocated.order_id
            and allocations.allocated_at = first_allocated.cutoff_at

),

decision_summary as (

    select
        order_id,
        count(distinct node_id) as nodes_at_allocation,
        sum(quantity) as units_allocated,
        -- Summed in cents (macros/marts/money.sql): a float sum depends on the order its rows
        -- are added in, which differs between engines (DuckDB, Spark).
        cast(sum({{ money('estimated_ship_cost') }}) as double) as estimated_ship_cost
    from decision
    group by order_id

),

order_size as (

    select
        order_lines.order_id,
        count(*) as line_count,
        sum(order_lines.ordered_quantity) as units_ordered,
        -- Summed as decimals, like estimated_ship_cost: a float sum's last digits depend on the
        -- order the rows come in, which differs between engines.
        cast(sum({{ money('order_lines.ordered_value') }}) as double) as order_value,
        cast(sum(cast(order_lines.ordered_quantity * skus.weight_kg as decimal(18, 6))) as double)
            as weight_kg
    from order_lines
    left join skus on order_lines.sku = skus.sku
    group by order_lines.order_id

),

-- Computed once, in every build: a dozen readers each recomputing it (with the window over
-- every allocation behind `decision`) held more memory than its rows.
base as {{ materialized_cte() }} (

    select
        orders.order_id,
        first_allocated.cutoff_at,
        cast(first_allocated.cutoff_at as date) as cutoff_date,
        orders.placed_at,
        orders.promised_by,
        orders.channel,
        orders.fulfillment_method,
        orders.ship_to_region,
        orders.ship_to_lat,
        orders.ship_to_lon,
        orders.pickup_node_id,
        decision.node_id,
        decision.carrier,
        decision.service_level,
        decision.planned_ship_by
    from orders
    inner join first_allocated on orders.order_id = first_allocated.order_id
    inner join decision
        on
            orders.order_id = decision.order_id
            and decision.lateness_rank = 1
    {% if is_incremental() -%}
    where orders.order_id in (select recomputed.order_id from recomputed)
    {%- endif %}

),

-- Each order once for every calendar day its longest window (a week or more) can touch, the day as a
-- column: the window joins below match on it and on their key before the time condition
-- (macros/ml/days_back.sql).
window_days as {{ not_materialized() }} (

    select
        base.order_id,
        base.cutoff_at,
        base.ship_to_region,
        base.carrier,
        order_areas.destination_area,
        back.days,
        cast({{ window_day('base.cutoff_date', 'back') }} as date) as window_date
    from base
    cross join {{ days_back([7 * 24, 96, var('ml_recent_hours')] | max) }} as back
    left join order_areas on base.order_id = order_areas.order_id

),

carrier_days as (

    select
        carrier,
        outcome_date as activity_date,
        count(*) as deliveries,
        sum(is_late) as late_deliveries
    from shipment_outcomes
    group by carrier, outcome_date

),

node_history as (
{{ node_history('base', 'node_days') }}
),

lane_history as (
{{ lane_history('base', 'shipment_outcomes') }}
),

-- By carrier and cutoff day, then by order, like node_history (macros/ml/node_context.sql).
carrier_day_history as (

    select
        base_days.carrier,
        base_days.cutoff_date,
        sum(carrier_days.deliveries) as carrier_deliveries,
        sum(carrier_days.late_deliveries) as carrier_late_deliveries
    from (
        select distinct
            carrier,
            cutoff_date
        from base
    ) as base_days
    inner join carrier_days
        on
            base_days.carrier = carrier_days.carrier
            and base_days.cutoff_date > carrier_days.activity_date
            and carrier_days.activity_date >= {{ ml_trailing_start('base_days') }}
    group by base_days.carrier, base_days.cutoff_date

),

carrier_history as (

    select
        base.order_id,
        carrier_day_history.carrier_deliveries,
        carrier_day_history.carrier_late_deliveries
    from base
    inner join carrier_day_history
        on
            base.carrier = carrier_day_history.carrier
            and base.cutoff_date = carrier_day_history.cutoff_date

),

-- The spans that can be open at a cutoff computed here: a span closed before the earliest
-- cutoff adds and takes back its units before every one (an incremental run computes few and
-- recent orders, so the running total sorts a few days of spans, not all of history).
open_spans as (

    select allocation_spans.*
    from allocation_spans
    where allocation_spans.closed_at >= (select min(base.cutoff_at) from base)

),

node_backlog as (
{{ node_backlog('base', 'open_spans') }}
),

-- Exceptions carriers reported in the hours before the cutoff, by destination region and by
-- carrier: a storm or a carrier's bad day is under way.
recent_exceptions as {{ not_materialized() }} (

    select
        exceptions.reported_at,
        cast(exceptions.reported_at as date) as reported_date,
        exceptions.exception_code,
        orders.ship_to_region,
        shipped.carrier
    from exceptions
    inner join orders on exceptions.order_id = orders.order_id
    left join shipped on exceptions.shipment_id = shipped.shipment_id
    where exceptions.exception_code in ('delayed', 'weather')

),

region_exceptions as (

    select
        window_days.order_id,
        count(*) as region_exceptions
    from window_days
    inner join recent_exceptions
        on
            window_days.ship_to_region = recent_exceptions.ship_to_region
            and window_days.window_date = recent_exceptions.reported_date
            and window_days.days <= {{ days_in_window(var('ml_recent_hours')) }}
            and window_days.cutoff_at > recent_exceptions.reported_at
            and {{ dbt.dateadd('hour', -var('ml_recent_hours'), 'window_days.cutoff_at') }}
            <= recent_exceptions.reported_at
    group by window_days.order_id

),

carrier_exceptions as (

    select
        window_days.order_id,
        count(*) as carrier_exceptions
    from window_days
    inner join recent_exceptions
        on
            window_days.carrier = recent_exceptions.carrier
            and window_days.window_date = recent_exceptions.reported_date
            and window_days.days <= {{ days_in_window(var('ml_recent_hours')) }}
            and window_days.cutoff_at > recent_exceptions.reported_at
            and {{ dbt.dateadd('hour', -var('ml_recent_hours'), 'window_days.cutoff_at') }}
            <= recent_exceptions.reported_at
    group by window_days.order_id

),

-- Weather exceptions by the destination's area (a storm covers more than a state): a weather
-- disruption lasts one to three days, so notices from parcels already on their way there say
-- whether this order will meet it. Counted over 24, 48 and 72 hours, and the hours since the
-- newest of the last week (null: none).
area_weather as (

    select
        exceptions.reported_at,
        cast(exceptions.reported_at as date) as reported_date,
        order_areas.destination_area
    from exceptions
    inner join order_areas on exceptions.order_id = order_areas.order_id
    where exceptions.exception_code = 'weather'

),

area_exceptions as (

    select
        window_days.order_id,
        count(*) filter (
            where area_weather.reported_at >= {{ dbt.dateadd('hour', -24, 'window_days.cutoff_at') }}
        ) as weather_24h,
        count(*) filter (
            where area_weather.reported_at >= {{ dbt.dateadd('hour', -48, 'window_days.cutoff_at') }}
        ) as weather_48h,
        count(*) filter (
            where area_weather.reported_at >= {{ dbt.dateadd('hour', -72, 'window_days.cutoff_at') }}
        ) as weather_72h,
        {{ seconds_between('max(area_weather.reported_at)', 'window_days.cutoff_at') }} / 3600.0  -- noqa: LT05
            as hours_since_weather
    from window_days
    inner join area_weather
        on
            window_days.destination_area = area_weather.destination_area
            and window_days.window_date = area_weather.reported_date
            and window_days.days <= {{ days_in_window(7 * 24) }}
            and window_days.cutoff_at > area_weather.reported_at
            and {{ dbt.dateadd('day', -7, 'window_days.cutoff_at') }} <= area_weather.reported_at
    group by window_days.order_id, window_days.cutoff_at

),

-- A carrier's bad day shows as delay notices out of proportion to what it carries: its delayed
-- exceptions in the hours before the cutoff, over its shipments in the 96 whole hours before
-- the cutoff's hour (about a parcel's time on the road).
carrier_delays as (

    select
        window_days.order_id,
        count(*) as delayed_exceptions
    from window_days
    inner join recent_exceptions
        on
            window_days.carrier = recent_exceptions.carrier
            and window_days.window_date = recent_exceptions.reported_date
            and window_days.days <= {{ days_in_window(var('ml_recent_hours')) }}
            and window_days.cutoff_at > recent_exceptions.reported_at
            and {{ dbt.dateadd('hour', -var('ml_recent_hours'), 'window_days.cutoff_at') }}
            <= recent_exceptions.reported_at
    where recent_exceptions.exception_code = 'delayed'
    group by window_days.order_id

),

carrier_hours as (

    select
        carrier,
        date_trunc('hour', shipped_at) as shipped_hour,
        cast(date_trunc('hour', shipped_at) as date) as shipped_date,
        count(*) as shipments
    from shipped
    group by carrier, date_trunc('hour', shipped_at)

),

carrier_volume as (

    select
        window_days.order_id,
        sum(carrier_hours.shipments) as shipments
    from window_days
    inner join carrier_hours
        on
            window_days.carrier = carrier_hours.carrier
            and window_days.window_date = carrier_hours.shipped_date
            and window_days.days <= {{ days_in_window(96) }}
            and date_trunc('hour', window_days.cutoff_at) > carrier_hours.shipped_hour
            and {{ dbt.dateadd('hour', -96, "date_trunc('hour', window_days.cutoff_at)") }}
            <= carrier_hours.shipped_hour
    group by window_days.order_id

),

-- Deliveries to the destination's area in the 48 whole hours before the cutoff's hour, and how
-- many missed their promise: the late parcels a storm leaves without a notice.
area_hours as (

    select
        order_areas.destination_area,
        date_trunc('hour', shipment_outcomes.delivered_at) as delivered_hour,
        cast(date_trunc('hour', shipment_outcomes.delivered_at) as date) as delivered_date,
        count(*) as deliveries,
        sum(shipment_outcomes.is_late) as late_deliveries
    from shipment_outcomes
    inner join order_areas on shipment_outcomes.order_id = order_areas.order_id
    group by order_areas.destination_area, date_trunc('hour', shipment_outcomes.delivered_at)

),

area_deliveries as (

    select
        window_days.order_id,
        sum(area_hours.deliveries) as deliveries,
        sum(area_hours.late_deliveries) as late_deliveries
    from window_days
    inner join area_hours
        on
            window_days.destination_area = area_hours.destination_area
            and window_days.window_date = area_hours.delivered_date
            and window_days.days <= {{ days_in_window(48) }}
            and date_trunc('hour', window_days.cutoff_at) > area_hours.delivered_hour
            and {{ dbt.dateadd('hour', -48, "date_trunc('hour', window_days.cutoff_at)") }} <= area_hours.delivered_hour
    group by window_days.order_id

),

-- Demand against its own trailing level: peaks strain nodes and carriers alike.
placed_days as (

    select
        cast(placed_at as date) as placed_date,
        count(*) as orders_placed
    from orders
    group by cast(placed_at as date)

),

-- By cutoff day, then by order.
cutoff_demand as (

    select
        cutoff_days.cutoff_date,
        sum(case
            when placed_days.placed_date = {{ dbt.dateadd('day', -1, 'cutoff_days.cutoff_date') }}
                then placed_days.orders_placed
        end) as orders_yesterday,
        {{ divide('sum(placed_days.orders_placed)', var('ml_trailing_days') ~ '.0') }} as orders_per_day_trailing
    from (select distinct cutoff_date from base) as cutoff_days
    inner join placed_days
        on
            cutoff_days.cutoff_date > placed_days.placed_date
            and placed_days.placed_date >= {{ ml_trailing_start('cutoff_days') }}
    group by cutoff_days.cutoff_date

),

demand as (

    select
        base.order_id,
        cutoff_demand.orders_yesterday,
        cutoff_demand.orders_per_day_trailing
    from base
    inner join cutoff_demand on base.cutoff_date = cutoff_demand.cutoff_date

),

-- The per-order features, each group joined to its orders once into a narrow table of its own:
-- DuckDB holds every hash table of a statement until it ends, and the final join then builds
-- six of a million orders instead of fifteen (on 1,000,000 orders: 7.8 GB uncapped, out of
-- memory under the 3 GB cap; 3.0 GB and half the time staged).
trailing_context as {{ materialized_cte() }} (

    select
        base.order_id,
        node_history.node_allocations,
        node_history.node_deliveries,
        node_history.node_deliveries_all,
        node_history.node_late_deliveries,
        node_history.node_late_deliveries_all,
        node_history.node_rejections,
        lane_history.lane_deliveries_trailing,
        lane_history.lane_extra_transit_days,
        carrier_history.carrier_deliveries,
        carrier_history.carrier_late_deliveries,
        node_backlog.backlog_units,
        demand.orders_yesterday,
        demand.orders_per_day_trailing
    from base
    left join node_history on base.order_id = node_history.order_id
    left join lane_history on base.order_id = lane_history.order_id
    left join carrier_history on base.order_id = carrier_history.order_id
    left join node_backlog on base.order_id = node_backlog.order_id
    left join demand on base.order_id = demand.order_id

),

recent_windows as {{ materialized_cte() }} (

    select
        base.order_id,
        region_exceptions.region_exceptions,
        carrier_exceptions.carrier_exceptions,
        area_exceptions.weather_24h,
        area_exceptions.weather_48h,
        area_exceptions.weather_72h,
        area_exceptions.hours_since_weather,
        carrier_delays.delayed_exceptions,
        carrier_volume.shipments,
        area_deliveries.deliveries,
        area_deliveries.late_deliveries
    from base
    left join region_exceptions on base.order_id = region_exceptions.order_id
    left join carrier_exceptions on base.order_id = carrier_exceptions.order_id
    left join area_exceptions on base.order_id = area_exceptions.order_id
    left join carrier_delays on base.order_id = carrier_delays.order_id
    left join carrier_volume on base.order_id = carrier_volume.order_id
    left join area_deliveries on base.order_id = area_deliveries.order_id

),

final as (

    select
        base.order_id,
        base.cutoff_at,
        base.placed_at,
        base.promised_by,
        base.channel,
        base.fulfillment_method,
        coalesce(base.ship_to_region, 'unknown') as ship_to_region,
        base.node_id,
        nodes.node_type,
        base.carrier,
        base.service_level,
        base.fulfillment_method = 'pickup' and base.node_id = base.pickup_node_id as is_from_pickup_store,
        {{ seconds_between('base.cutoff_at', 'base.promised_by') }} / 3600.0  -- noqa: LT05
            as hours_to_promise,
        {{ seconds_between('base.placed_at', 'base.cutoff_at') }} / 3600.0  -- noqa: LT05
            as hours_placed_to_allocated,
        {{ seconds_between('base.cutoff_at', 'base.planned_ship_by') }} / 3600.0  -- noqa: LT05
            as hours_to_planned_ship,
        carriers.transit_days as carrier_transit_days,
        -- Whole days the promise leaves after the planned ship day and the carrier's transit:
        -- the promise-slack heuristic's score, negative when the plan already misses.
        {{ dbt.datediff('cast(base.planned_ship_by as date)', 'cast(base.promised_by as date)', 'day') }}
        - coalesce(carriers.transit_days, 0) as planned_slack_days,
        {{ ml_distance_km('nodes.lat', 'nodes.lon', 'base.ship_to_lat', 'base.ship_to_lon') }} as distance_km,
        order_size.line_count,
        order_size.units_ordered,
        order_size.order_value,
        order_size.weight_kg,
        decision_summary.nodes_at_allocation,
        decision_summary.nodes_at_allocation > 1 as is_split_at_allocation,
        decision_summary.estimated_ship_cost,
        {{ iso_weekday('base.cutoff_at') }} as cutoff_weekday,
        extract(hour from base.cutoff_at) as cutoff_hour,
        coalesce(trailing_context.orders_yesterday, 0)
        / nullif(trailing_context.orders_per_day_trailing, 0) as demand_ratio,
        {{ node_context_columns('nodes', 'trailing_context', 'trailing_context', 'trailing_context') }},
        coalesce(trailing_context.carrier_deliveries, 0) as carrier_deliveries_trailing,
        {{ divide(
            'trailing_context.carrier_late_deliveries * 1.0',
            'nullif(trailing_context.carrier_deliveries, 0)'
        ) }} as carrier_late_rate,
        coalesce(recent_windows.region_exceptions, 0) as region_recent_exceptions,
        coalesce(recent_windows.carrier_exceptions, 0) as carrier_recent_exceptions,
        order_areas.destination_area,
        coalesce(recent_windows.weather_24h, 0) as area_weather_exceptions_24h,
        coalesce(recent_windows.weather_48h, 0) as area_weather_exceptions_48h,
        coalesce(recent_windows.weather_72h, 0) as area_weather_exceptions_72h,
        recent_windows.hours_since_weather as hours_since_area_weather_exception,
        {{ divide(
            'coalesce(recent_windows.delayed_exceptions, 0) * 1.0',
            'nullif(recent_windows.shipments, 0)'
        ) }} as carrier_delayed_exception_share,
        {{ divide(
            'recent_windows.late_deliveries * 1.0',
            'nullif(recent_windows.deliveries, 0)'
        ) }} as area_late_delivery_share,
        -- The label: known once the order is done, or once its promise passed with nothing
        -- completed (a lost parcel is late for good); null while it can still go either way.
        case
            when outcomes.completed_at is not null then outcomes.completed_at > outcomes.promised_by
            when outcomes.is_fully_cancelled then null
            when outcomes.promised_by < {{ as_of_timestamp() }} then true
        end as is_late,
        outcomes.completed_at is null and not outcomes.is_fully_cancelled as is_open,
        -- The newest ingest batch this row was computed with: the incremental watermark.
        {{ newest_batch() }} as _built_through_batch
    from base
    inner join decision_summary on base.order_id = decision_summary.order_id
    left join order_size on base.order_id = order_size.order_id
    left join nodes on base.node_id = nodes.node_id
    left join carriers
        on
            base.carrier = carriers.carrier
            and base.service_level = carriers.service_level
    left join trailing_context on base.order_id = trailing_context.order_id
    left join recent_windows on base.order_id = recent_windows.order_id
    left join order_areas on base.order_id = order_areas.order_id
    left join outcomes on base.order_id = outcomes.order_id

)

select * from final
