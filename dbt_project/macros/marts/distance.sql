{#-
    Great-circle distance in km between two points given in degrees (haversine, Earth radius
    6371 km). Null when any coordinate is null: an unknown distance is never zero.
    Uses only functions every analytic engine has (sin, cos, asin, sqrt, radians).
-#}
{% macro distance_km(lat1, lon1, lat2, lon2) -%}
    (2 * 6371 * asin(sqrt(
        power(sin(radians({{ lat2 }} - {{ lat1 }}) / 2), 2)
        + cos(radians({{ lat1 }})) * cos(radians({{ lat2 }}))
        * power(sin(radians({{ lon2 }} - {{ lon1 }}) / 2), 2)
    )))
{%- endmacro %}
