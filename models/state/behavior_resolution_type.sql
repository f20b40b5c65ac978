{{ config(
    meta={'resync_scope': 'district'},
) }}
-- depends_on: {{ ref('district') }}

select
    district_id,
    resolution_type_id,
    code,
    name,
    state_code,
    modified_date
from {{ ref('stg_behavior_resolution_type') }}
