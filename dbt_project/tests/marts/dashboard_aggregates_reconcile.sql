-- The dashboard marts lose and invent nothing: each one's counts sum to the rows of the fact
-- it aggregates. Returns a row per aggregate whose sum differs.
-- Reads all of history: runs on full builds and in the nightly full check.
{{ config(tags=['whole_history']) }}

with

checks as (

    select
        'agg_orders_daily' as aggregate_name,
        (select sum(agg.orders) from {{ ref('agg_orders_daily') }} as agg) as aggregated,
        (select count(*) from {{ ref('fct_orders') }}) as facts
    union all
    select
        'agg_shipments_daily' as aggregate_name,
        (select sum(agg.shipments) from {{ ref('agg_shipments_daily') }} as agg) as aggregated,
        (select count(*) from {{ ref('fct_shipments') }}) as facts
    union all
    select
        'agg_allocations_daily' as aggregate_name,
        (select sum(agg.allocations) from {{ ref('agg_allocations_daily') }} as agg) as aggregated,
        (select count(*) from {{ ref('fct_allocations') }}) as facts
    union all
    select
        'agg_return_reasons_daily' as aggregate_name,
        (select sum(agg.returned_lines) from {{ ref('agg_return_reasons_daily') }} as agg) as aggregated,
        (select count(*) from {{ ref('fct_returns') }}) as facts
    union all
    select
        'agg_inventory_accuracy_daily' as aggregate_name,
        (select sum(agg.counts) from {{ ref('agg_inventory_accuracy_daily') }} as agg) as aggregated,
        (select count(*) from {{ ref('fct_inventory_counts') }}) as facts

)

select * from checks
where coalesce(aggregated, 0) <> facts
