{{ config(
    meta={'resync_scope': 'district'},
) }}

select
    district_id,
    district_number,
    name,
    state_district_number,
    modified_date
from {{ ref('stg_district') }}
