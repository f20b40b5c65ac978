{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- Role grain with resolutions: one row per person's role in an event and each resolution of that
-- role (resolution columns null for a role without one), with the event's columns.
-- depends_on: {{ ref('person_identity') }}
-- depends_on: {{ ref('calendar') }}
-- depends_on: {{ ref('behavior_resolution_type') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    role.district_id,
    role.role_id,
    resolution.resolution_id,
    role.event_id,
    event.calendar_id,
    calendar.end_year,
    event.event_date,
    event.code as event_code,
    event.name as event_name,
    event.state_code as event_state_code,
    role.person_id,
    role.role,
    resolution.resolution_type_id,
    resolution.start_date as resolution_start_date,
    resolution.end_date as resolution_end_date,
    greatest(event.modified_date, role.modified_date, resolution.modified_date) as modified_date
from {{ ref('stg_behavior_role') }} as role
join {{ ref('stg_behavior_event') }} as event using (district_id, event_id)
join calendar using (district_id, calendar_id)
left join {{ ref('stg_behavior_resolution') }} as resolution
    on resolution.district_id = role.district_id
    and resolution.role_id = role.role_id
where calendar.end_year = {{ resync_school_year() }}
