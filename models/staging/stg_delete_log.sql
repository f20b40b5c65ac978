select
    district_id,
    cast(log_id as bigint) as log_id,
    cast(table_name as text) as table_name,
    cast(record_id as bigint) as record_id,
    cast(person_id as bigint) as person_id,
    cast(deleted_row as jsonb) as deleted_row,
    cast(deleted_at as timestamp with time zone) as deleted_at
from {{ source('landing', 'delete_log') }}
where {{ resync_district_filter() }}
