{#
    Fails on every row where `expression` is false, e.g. a reconciliation such as
    "lines_read = landed + duplicates + resumed + quarantined". Rows where it is null pass: pair it with
    not_null when null is wrong too.
#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
