{#-
    A node's great-circle distance to a customer in the ml models: km to one decimal, as
    fct_shipments has it. Unrounded, the haversine's last digits depend on the engine's maths
    library (DuckDB's C library and Spark's Java differ by a bit now and then in asin and in
    power), and so would every feature and own cost built on it.
-#}
{% macro ml_distance_km(lat1, lon1, lat2, lon2) -%}
    round({{ distance_km(lat1, lon1, lat2, lon2) }}, 1)
{%- endmacro %}
