{{ config(materialized='view') }}
-- The chronic absence rules the reports apply, in the order they are shown: the federal rule,
-- then the state's own (var chronic_absence_rules in dbt_project.yml).

select *
from (values
    {%- for rule in resync_chronic_absence_rules() %}
    ('{{ rule.name }}', {{ loop.index }},
     {{ rule.threshold if rule.threshold is not none else 'null' }}::numeric,
     {{ rule.absent_days if rule.absent_days is not none else 'null' }}::numeric,
     {{ rule.min_membership_days }}){{ "," if not loop.last }}
    {%- endfor %}
) as rules (rule, rule_seq, threshold, absent_days, min_membership_days)
