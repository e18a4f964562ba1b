{#- The materialization of a model rebuilt by key: 'incremental' where tables can delete rows,
    since every such model deletes the keys it writes again (delete+insert, or a pre-hook before
    an append); on Spark, whose Parquet tables cannot, 'table', rebuilt whole on every run
    (docs/scale-out.md). dbt_project.yml makes the same choice for the folders it configures. -#}
{% macro incremental_where_deletable() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}
