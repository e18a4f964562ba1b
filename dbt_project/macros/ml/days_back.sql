{#-
    Hour windows before a cutoff, joined by day first. A window join on a key with few values (a
    carrier, an area, a state) pairs every order with every event of that key over all history
    before the time condition filters them: quadratic in the world's size (ml_delivery_features
    took 627 s and 19.5 GB on 1,000,000 orders). Joining first on the key and on one of the
    calendar days the window touches keeps the pairs to those days; the time condition, kept
    as it was, decides.

    `days_back(hours)`: the day offsets 0..n that a window of `hours` ending at a cutoff can
    touch, as a one-column relation `days` to cross join with the orders.
    `window_day(alias)`: the calendar day of the offset, for the equality join.
-#}
{% macro days_back(hours) -%}
    {%- set days = ((hours | float) / 24) | round(0, 'ceil') | int -%}
    (
        {%- for offset in range(days + 1) %}
        select {{ offset }} as days{% if not loop.last %} union all{% endif %}
        {%- endfor %}
    )
{%- endmacro %}


{% macro window_day(base_date, offsets) -%}
    {{ dbt.dateadd('day', '-' ~ offsets ~ '.days', base_date) }}
{%- endmacro %}
