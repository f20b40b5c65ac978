-- Data quality (warn): attendance codes the state cannot report because they map to no state code.
{{ config(severity='warn', store_failures=true) }}

select district_id, excuse_id, calendar_id, end_year, code, description, status, excuse
from {{ ref('attendance_excuse') }}
where nullif(trim(state_code), '') is null
