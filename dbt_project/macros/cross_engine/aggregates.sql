{#
    Aggregates the marts need that dbt's cross-database macros lack. Model SQL calls these, so
    another engine needs only its own <adapter>__ versions. (bool_or is dbt.bool_or.)
#}

{#- True when the expression is true on every row of the group. -#}
{% macro bool_and(expression) -%}
    {{ return(adapter.dispatch('bool_and', 'omsi')(expression)) }}
{%- endmacro %}

{% macro default__bool_and(expression) -%}
    bool_and({{ expression }})
{%- endmacro %}

{% macro snowflake__bool_and(expression) -%}
    booland_agg({{ expression }})
{%- endmacro %}


{#- The value on the row where `order_by` is smallest (min_by / arg_min). -#}
{% macro value_at_min(value, order_by) -%}
    {{ return(adapter.dispatch('value_at_min', 'omsi')(value, order_by)) }}
{%- endmacro %}

{% macro default__value_at_min(value, order_by) -%}
    min_by({{ value }}, {{ order_by }})
{%- endmacro %}


{#- The value on the row where `order_by` is largest (max_by / arg_max). -#}
{% macro value_at_max(value, order_by) -%}
    {{ return(adapter.dispatch('value_at_max', 'omsi')(value, order_by)) }}
{%- endmacro %}

{% macro default__value_at_max(value, order_by) -%}
    max_by({{ value }}, {{ order_by }})
{%- endmacro %}


{#- The distinct non-null values of a text expression, sorted and joined by `delimiter`; null
    when there are none. -#}
{% macro sorted_distinct_text(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_distinct_text', 'omsi')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_distinct_text(expression, delimiter) -%}
    {{ dbt.listagg('distinct ' ~ expression, "'" ~ delimiter ~ "'", 'order by ' ~ expression) }}
{%- endmacro %}

{#- Spark's listagg cannot order (dbt-spark warns and drops the order): a sorted set instead.
    An empty group joins to '', where string_agg gives null. -#}
{% macro spark__sorted_distinct_text(expression, delimiter) -%}
    case when count({{ expression }}) > 0 then
        array_join(array_sort(collect_set({{ expression }})), '{{ delimiter }}')
    end
{%- endmacro %}


{#- The value on the row where the `order_by` expressions, compared left to right, are smallest:
    ties on the first go to the smaller second, and so on. Both engines order structs field by
    field; DuckDB builds one with struct_pack, Spark with struct. -#}
{% macro value_at_min_of(value, order_by) -%}
    {{ return(adapter.dispatch('value_at_min_of', 'omsi')(value, order_by)) }}
{%- endmacro %}

{% macro default__value_at_min_of(value, order_by) -%}
    {{ missing_engine_macro('value_at_min_of') }}
{%- endmacro %}

{% macro duckdb__value_at_min_of(value, order_by) -%}
    arg_min({{ value }}, struct_pack({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro spark__value_at_min_of(value, order_by) -%}
    min_by({{ value }}, struct({{ order_by | join(', ') }}))
{%- endmacro %}
