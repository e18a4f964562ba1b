{#- The materialization of a model rebuilt by key: 'incremental' where tables can delete rows,
    since every such model deletes the keys it writes again (delete+insert, or a pre-hook before
    an append); on Spark, whose Parquet tables cannot, 'table', rebuilt whole on every run
    (docs/scale-out.md). Models rebuilt by order use order_partitions.sql's insert_overwrite by
    month there instead; this is for the others (report days, stock records, open orders). -#}
{% macro incremental_where_deletable() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}
