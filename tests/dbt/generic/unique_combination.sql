{% test unique_combination(model, columns) %}
{#- Key uniqueness over several columns: every combination of `columns` at most once. -#}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
