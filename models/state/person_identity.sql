{{ config(
    meta={'resync_scope': 'district'},
) }}
-- Person grain: one row per person with the columns of their current identity (null when the
-- person has none).
-- depends_on: {{ ref('district') }}

select
    person.district_id,
    person.person_id,
    person.state_id,
    person.current_identity_id,
    identity.last_name,
    identity.first_name,
    identity.gender,
    identity.birth_date,
    identity.effective_date,
    greatest(person.modified_date, identity.modified_date) as modified_date
from {{ ref('stg_person') }} as person
left join {{ ref('stg_identity') }} as identity
    on identity.district_id = person.district_id
    and identity.identity_id = person.current_identity_id
