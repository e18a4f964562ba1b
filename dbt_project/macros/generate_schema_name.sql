{#
    Use a model's custom schema as-is (staging, marts, ml) instead of dbt's default
    <target_schema>_<custom>: the warehouse layout is part of the public surface, and the
    dashboards and the routing feed read marts.* by name.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
