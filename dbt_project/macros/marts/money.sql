{#-
    Money in the marts is exact to the cent: amounts arrive as JSON numbers (binary floats),
    so each one is rounded once, here, into a decimal. Sums of decimals never drift, which is
    what lets `total = sum of components` hold to the cent.
-#}
{% macro money(expression) -%}
    cast(round({{ expression }}, 2) as decimal(18, 2))
{%- endmacro %}
