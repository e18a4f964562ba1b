{{ config(
    materialized=incremental_where_deletable(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rewritten_report_days('kpi_date', 'kpi in ' ~ kpis_rewritten_whole()) }}"
) }}
-- Every KPI of docs/kpis.md per day x channel x fulfillment method x node type, in long form with its
-- numerator and denominator, so that any filter or period rolls up as sum(numerator) /
-- sum(denominator) and never as a mean of daily ratios. Definitions: seeds/kpi_definitions.csv.
-- Durations are summed as decimals: a sum of floats depends on row order, and the same events
-- must give the same figures however the tables were built.
--   Order KPIs count on the order's placed day, under the node type of the node that fulfilled
--   most of its units ('unallocated' when none did).
--   Allocation KPIs (rejection, phantom, release-to-ship) count on the allocation's day under the
--   allocated node's type.
--   Inventory record accuracy has no channel or method: those columns read 'all'.
-- Rebuilt by day (macros/marts/kpi_days.sql): an incremental run rewrites every day from the first
-- event of the orders with new events on, and inventory record accuracy whole.
-- depends_on: {{ ref('int_order_batches') }}
with

orders as (

    select
        orders.*,
        order_costs.total_cost
    from {{ ref('fct_orders') }} as orders
    left join {{ ref('fct_cost_to_serve') }} as order_costs on orders.order_id = order_costs.order_id
    {{ only_rewritten_report_days('orders.placed_date') }}

),

order_lines as (

    select
        orders.placed_date,
        orders.channel,
        orders.fulfillment_method,
        orders.primary_node_type,
        order_line_facts.*
    from {{ ref('fct_order_lines') }} as order_line_facts
    inner join orders on order_line_facts.order_id = orders.order_id

),

allocations as (

    select * from {{ ref('fct_allocations') }}
    {{ only_rewritten_report_days('cast(allocated_at as date)') }}

),

refunded_returns as (

    select
        orders.placed_date,
        orders.channel,
        orders.fulfillment_method,
        orders.primary_node_type,
        returned_lines.return_id,
        min(returned_lines.refund_cycle_days) as refund_cycle_days
    from {{ ref('fct_returns') }} as returned_lines
    inner join orders on returned_lines.order_id = orders.order_id
    where returned_lines.refund_cycle_days is not null
    group by 1, 2, 3, 4, 5

),

order_kpis as (

    {%- set order_grain = {
        'kpi_date': 'placed_date',
        'channel': 'channel',
        'fulfillment_method': 'fulfillment_method',
        'node_type': 'primary_node_type',
    } -%}
    {%- set order_measures = [
        ('on_time_rate', 'count(case when is_on_time then 1 end)', 'count(case when is_completed then 1 end)'),
        ('in_full_rate', 'count(case when is_completed and is_in_full then 1 end)', 'count(case when is_completed then 1 end)'),
        ('otif_rate', 'count(case when is_otif then 1 end)', 'count(case when is_completed then 1 end)'),
        ('perfect_order_rate', 'count(case when is_perfect_order then 1 end)', 'count(is_perfect_order)'),
        ('cancellation_rate', 'count(case when is_cancelled then 1 end)', 'count(*)'),
        ('stock_cancellation_rate', 'count(case when has_stock_cancellation then 1 end)', 'count(*)'),
        ('split_shipment_rate', 'count(case when is_split then 1 end)', 'count(case when shipment_count > 0 then 1 end)'),
        ('click_to_ship_hours', 'sum(cast(click_to_ship_hours as decimal(38, 6)))', 'count(click_to_ship_hours)'),
        ('order_cycle_time_hours', 'sum(cast(cycle_time_hours as decimal(38, 6)))', 'count(cycle_time_hours)'),
        ('promise_slack_hours', 'sum(cast(promise_slack_hours as decimal(38, 6)))', 'count(promise_slack_hours)'),
        ('wismo_rate', 'sum(wismo_contact_count)', 'count(*)'),
        ('cost_to_serve_per_order', 'sum(total_cost)', 'count(*)'),
        ('cost_to_serve_pct_revenue', 'sum(total_cost)', 'sum(revenue)'),
    ] -%}
    {{ kpi_rows('orders', order_grain, order_measures) }}

),

line_kpis as (

    {%- set line_measures = [
        ('line_fill_rate_first', 'count(case when is_filled_first_allocation then 1 end)', 'count(*)'),
        ('reallocation_rate', 'count(case when is_reallocated then 1 end)', 'count(case when allocation_count > 0 then 1 end)'),
        ('return_rate_units', 'sum(returned_quantity)', 'sum(fulfilled_quantity)'),
        ('return_rate_revenue', 'sum(returned_value)', 'sum(fulfilled_quantity * unit_price)'),
    ] -%}
    {{ kpi_rows('order_lines', order_grain, line_measures) }}

),

return_kpis as (

    {#- The refund cycle summed in whole seconds, as in agg_return_reasons_daily: a day count
        can lie halfway at six decimal places, where engines round a decimal differently. #}
    {{ kpi_rows('refunded_returns', order_grain, [
        ('refund_cycle_time_days', 'sum(round(refund_cycle_days * 86400)) / 86400', 'count(*)'),
    ]) }}

),

allocation_kpis as (

    {%- set allocation_grain = {
        'kpi_date': 'cast(allocated_at as date)',
        'channel': "coalesce(channel, 'unknown')",
        'fulfillment_method': "coalesce(fulfillment_method, 'unknown')",
        'node_type': "coalesce(node_type, 'unknown')",
    } -%}
    {%- set allocation_measures = [
        ('rejection_rate', "count(case when outcome = 'rejected' then 1 end)", 'count(*)'),
        ('phantom_inventory_rate', 'count(case when is_phantom_rejection then 1 end)', 'count(*)'),
        ('release_to_ship_hours',
         "sum(case when outcome = 'shipped' then cast(" ~ seconds_between('allocated_at', 'fulfilled_at') ~ " / 3600.0 as decimal(38, 6)) end)",
         "count(case when outcome = 'shipped' then 1 end)"),
    ] -%}
    {{ kpi_rows('allocations', allocation_grain, allocation_measures) }}

),

-- Rewritten whole on every run (kpis_rewritten_whole in macros/marts/kpi_days.sql).
inventory_kpis as (

    {{ kpi_rows(ref('fct_inventory_counts'), {
        'kpi_date': 'count_date',
        'channel': "'all'",
        'fulfillment_method': "'all'",
        'node_type': "coalesce(node_type, 'unknown')",
    }, [
        ('inventory_record_accuracy', 'count(case when is_accurate then 1 end)', 'count(*)'),
    ]) }}

),

all_kpis as (

    select * from order_kpis
    union all
    select * from line_kpis
    union all
    select * from return_kpis
    union all
    select * from allocation_kpis
    union all
    select * from inventory_kpis

),

final as (

    select
        kpi_date,
        channel,
        fulfillment_method,
        node_type,
        kpi,
        coalesce(numerator, 0) as numerator,
        denominator,
        numerator / nullif(denominator, 0) as value,  -- noqa: RF04
        {{ newest_batch() }} as _built_through_batch
    from all_kpis
    -- A group without a single case for this KPI (no completed orders yet, say) says nothing.
    where denominator > 0

)

select * from final
