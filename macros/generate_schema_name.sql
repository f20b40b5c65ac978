{% macro generate_schema_name(custom_schema_name, node) %}
    {#- A configured schema is used as is (dbt's default would prefix the target schema), so the
        state tables land in exactly the profile's schema and a folder's `+schema` in exactly that. -#}
    {{- (custom_schema_name or target.schema) | trim -}}
{% endmacro %}
