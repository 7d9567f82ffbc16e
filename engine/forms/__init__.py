"""Forms of user tasks and start events: the files they deploy from (files), Spiff Arena JSON schemas
drawn as form-js forms (json_schema), and checking what a person submits against them (validation)."""
