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


{#
    `name as {{ materialized_cte() }} (...)`: a narrow CTE (a few columns per order, say) that
    several parts of the statement read, computed once in every build. Held whole until the
    statement ends, like any materialized CTE, but DuckDB also holds every hash table a statement
    builds until then: one narrow table joined once costs less than a wide input rebuilt by each
    reader (ml_delivery_features, 1,000,000 orders: 7.8 GB uncapped with its inputs inlined and
    its groups of features joined in one step, 3.0 GB with `base` and two groups materialized).
#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized', 'omsi')()) }}
{%- endmacro %}

{#
    `name as {{ materialized_if_incremental() }} (...)`: for a CTE narrowed to the orders an
    incremental run recomputes, and read in several places. There it is small, and computed once
    it spares every reader a scan of the table it narrows (ml_delivery_features' one-day run at
    1,000,000 orders: 5.2 s inlined, 2.0 s materialized). A full build inlines it (`not_materialized()`).
#}
{% macro materialized_if_incremental() -%}
    {%- if is_incremental() -%}
    {{ return(materialized_cte()) }}
    {%- else -%}
    {{ return(not_materialized()) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__materialized() -%}
{%- endmacro %}

{% macro duckdb__materialized() -%}
    materialized
{%- endmacro %}

{% macro postgres__materialized() -%}
    materialized
{%- endmacro %}
