{#-
    kpi_daily by day, like the dashboards' daily aggregates (incremental_report_days.sql). Order,
    line and return KPIs count on the order's placement day, allocation KPIs on the allocation's
    day: each a day of one of the order's events, so an incremental run rewrites them from
    `report_day_to_rewrite_from()` on, and the days before keep their rows.

    Inventory record accuracy is rewritten whole on every run: a count's tolerance follows its
    SKU's ABC class, which dim_skus derives from units ordered when the reference file gives
    none, so new orders can change counts of any day. They are few rows.
-#}

{#- The KPIs rewritten whole on every run, as a SQL list. -#}
{% macro kpis_rewritten_whole() -%}
    ('inventory_record_accuracy')
{%- endmacro %}


{#- The model's pre-hook: on incremental runs, delete the rows this run rewrites. -#}
{% macro delete_rewritten_kpi_days() -%}
    {%- if execute and is_incremental() -%}
    {%- set rewrite_from = report_day_to_rewrite_from() -%}
    delete from {{ this }}
    where kpi in {{ kpis_rewritten_whole() }}
    {%- if rewrite_from is not none %} or kpi_date >= {{ rewrite_from }}{% endif %}
    {%- endif -%}
{%- endmacro %}
