{#-
    A timestamp later than any event: the end of a span that has not ended yet, so that
    `closed_at >= t` reads "still open at t" without a null test on every side.
-#}
{% macro far_future() -%}
    cast('9999-12-31 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}
