{#-
    kpi_daily by day, like the dashboards' daily aggregates (incremental_report_days.sql). Order,
    line and return KPIs count on the order's placement day, allocation KPIs on the allocation's
    day: each a day of one of the order's events, so an incremental run rewrites them from
    `report_day_to_rewrite_from()` on, and the days before keep their rows.

    Inventory record accuracy is rewritten whole on every run: a count's tolerance follows its
    SKU's ABC class, which dim_skus derives from units ordered when the reference file gives
    none, so new orders can change counts of any day. They are few rows.
-#}

{#- The KPIs rewritten whole on every run, as a SQL list; the model's pre-hook deletes them with
    the days it rewrites (delete_rewritten_report_days). -#}
{% macro kpis_rewritten_whole() -%}
    ('inventory_record_accuracy')
{%- endmacro %}

