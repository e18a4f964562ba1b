{#-
    Hour windows before a cutoff, joined by day first. A window join on a key with few values (a
    carrier, an area, a state) pairs every order with every event of that key over all history
    before the time condition filters them: quadratic in the world's size (ml_delivery_features
    took 627 s and 19.5 GB on 1,000,000 orders). Each order is taken once per calendar day its
    windows can touch, the day as a column, and the join matches on the key and that day first;
    the time condition, kept as it was, decides, so every row comes out the same.

    `days_in_window(hours)`: the largest day offset a window of `hours` ending at a cutoff can
    touch (48 hours: 2, the cutoff's own day and the two before).
    `days_back(hours)`: the offsets 0..days_in_window(hours), a one-column relation `days`.
    `window_day(base_date, offsets)`: the calendar day of an offset.
-#}
{% macro days_in_window(hours) -%}
    {{ return(((hours | float) / 24) | round(0, 'ceil') | int) }}
{%- endmacro %}


{% macro days_back(hours) -%}
    (
        {%- for offset in range(days_in_window(hours) + 1) %}
        select {{ offset }} as days{% if not loop.last %} union all{% endif %}
        {%- endfor %}
    )
{%- endmacro %}


{% macro window_day(base_date, offsets) -%}
    {{ dbt.dateadd('day', '-' ~ offsets ~ '.days', base_date) }}
{%- endmacro %}
