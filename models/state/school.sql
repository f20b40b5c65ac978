{{ config(
    meta={'resync_scope': 'district'},
) }}
-- Rows come from the district's own sources; the catalog's parents are dependencies (built first
-- with `+school`), so a school whose district is missing at the state shows up in the checks.
-- depends_on: {{ ref('district') }}

select
    district_id,
    school_id,
    number,
    name,
    state_school_number,
    modified_date
from {{ ref('stg_school') }}
