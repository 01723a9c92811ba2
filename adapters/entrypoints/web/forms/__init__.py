"""Forms in the browser, from JSON Schema: a task's form (``task_form``: fields from the schema, the posted form read
back and checked) and the application form of intake (``application``). The parts: ``fields`` (what a field is),
``schema`` (the spec read from a schema), ``building`` (fields and their values), ``reading`` (posted pairs to
JSON data), ``patterns`` (the HTML pattern attribute)."""

from adapters.entrypoints.web.forms.fields import ADD_ROW_FIELD, Field, Kind, Submission, UnsupportedFormSchema
from adapters.entrypoints.web.forms.patterns import html_pattern_of
from adapters.entrypoints.web.forms.task_form import (
    check_submission,
    form_fields,
    form_values,
    parse_form,
    problems_by_field,
    submitted_values,
)

__all__ = [
    "ADD_ROW_FIELD", "Field", "Kind", "Submission", "UnsupportedFormSchema", "check_submission", "form_fields",
    "form_values", "html_pattern_of", "parse_form", "problems_by_field", "submitted_values",
]
