{#
    `name as {{ not_materialized() }} (...)`: a CTE read in several places is computed where each
    reads it, not once into memory. DuckDB materializes such a CTE whole, with every column, and
    holds it until the statement ends: ml_delivery_features held 6.8 GB on 1,000,000 orders that
    way, and 2.6 GB inlined, in about the same time. Engines without the keyword get nothing.
#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'omsi')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro postgres__not_materialized() -%}
    not materialized
{%- endmacro %}
