{{ config(materialized='table') }}
-- Every KPI of KPIS.md per day x channel x fulfillment method x node type, in long form with its
-- numerator and denominator, so that any filter or period rolls up as sum(numerator) /
-- sum(denominator) and never as a mean of daily ratios. Definitions: seeds/kpi_definitions.csv.
-- Durations are summed as decimals: a sum of floats depends on row order, and the same events
-- must give the same figures however the tables were built.
--   Order KPIs count on the order's placed day, under the node type of the node that fulfilled
--   most of its units ('unallocated' when none did).
--   Allocation KPIs (rejection, phantom, release-to-ship) count on the allocation's day under the
--   allocated node's type.
--   Inventory record accuracy has no channel or method: those columns read 'all'.
with

orders as (

    select
        orders.*,
        order_costs.total_cost
    from {{ ref('fct_orders') }} as orders
    left join {{ ref('fct_cost_to_serve') }} as order_costs on orders.order_id = order_costs.order_id

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
    {%- for kpi, numerator, denominator in order_measures %}
        select
            placed_date as kpi_date,
            channel,
            fulfillment_method,
            primary_node_type as node_type,
            '{{ kpi }}' as kpi,
            cast({{ numerator }} as double) as numerator,
            cast({{ denominator }} as double) as denominator
        from orders
        group by 1, 2, 3, 4
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

line_kpis as (

    {%- set line_measures = [
        ('line_fill_rate_first', 'count(case when is_filled_first_allocation then 1 end)', 'count(*)'),
        ('reallocation_rate', 'count(case when is_reallocated then 1 end)', 'count(case when allocation_count > 0 then 1 end)'),
        ('return_rate_units', 'sum(returned_quantity)', 'sum(fulfilled_quantity)'),
        ('return_rate_revenue', 'sum(returned_value)', 'sum(fulfilled_quantity * unit_price)'),
    ] -%}
    {%- for kpi, numerator, denominator in line_measures %}
        select
            placed_date as kpi_date,
            channel,
            fulfillment_method,
            primary_node_type as node_type,
            '{{ kpi }}' as kpi,
            cast({{ numerator }} as double) as numerator,
            cast({{ denominator }} as double) as denominator
        from order_lines
        group by 1, 2, 3, 4
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

return_kpis as (

    select
        placed_date as kpi_date,
        channel,
        fulfillment_method,
        primary_node_type as node_type,
        'refund_cycle_time_days' as kpi,
        cast(sum(cast(refund_cycle_days as decimal(38, 6))) as double) as numerator,
        cast(count(*) as double) as denominator
    from refunded_returns
    group by 1, 2, 3, 4

),

allocation_kpis as (

    {%- set allocation_measures = [
        ('rejection_rate', "count(case when outcome = 'rejected' then 1 end)", 'count(*)'),
        ('phantom_inventory_rate', 'count(case when is_phantom_rejection then 1 end)', 'count(*)'),
        ('release_to_ship_hours',
         "sum(case when outcome = 'shipped' then cast(" ~ dbt.datediff('allocated_at', 'fulfilled_at', 'second') ~ " / 3600.0 as decimal(38, 6)) end)",
         "count(case when outcome = 'shipped' then 1 end)"),
    ] -%}
    {%- for kpi, numerator, denominator in allocation_measures %}
        select
            cast(allocated_at as date) as kpi_date,
            coalesce(channel, 'unknown') as channel,
            coalesce(fulfillment_method, 'unknown') as fulfillment_method,
            coalesce(node_type, 'unknown') as node_type,
            '{{ kpi }}' as kpi,
            cast({{ numerator }} as double) as numerator,
            cast({{ denominator }} as double) as denominator
        from {{ ref('fct_allocations') }}
        group by 1, 2, 3, 4
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

inventory_kpis as (

    select
        count_date as kpi_date,
        'all' as channel,
        'all' as fulfillment_method,
        coalesce(node_type, 'unknown') as node_type,
        'inventory_record_accuracy' as kpi,
        cast(count(case when is_accurate then 1 end) as double) as numerator,
        cast(count(*) as double) as denominator
    from {{ ref('fct_inventory_counts') }}
    group by 1, 2, 3, 4

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
        numerator / nullif(denominator, 0) as value  -- noqa: RF04
    from all_kpis
    -- A group without a single case for this KPI (no completed orders yet, say) says nothing.
    where denominator > 0

)

select * from final
