"""What a person submits is checked against the form on the server and typed, for each kind of form:
Camunda form fields, Camunda Forms (form-js) and Spiff Arena JSON schemas."""
import json
from pathlib import Path

import pytest

from engine.forms.json_schema import form_js_schema
from engine.forms.validation import InvalidForm, checked

FORMS = Path(__file__).parent / "fixtures" / "forms"
FIELDS = {"fields": [
    {"id": "customer", "label": "Customer", "type": "string", "required": True,
     "constraints": {"minlength": "2", "maxlength": "10"}},
    {"id": "amount", "label": "Amount", "type": "long", "required": False, "constraints": {"min": "1", "max": "99"}},
    {"id": "due", "label": "Due", "type": "date", "required": False},
    {"id": "rush", "label": "Rush", "type": "boolean", "required": False},
    {"id": "size", "label": "Size", "type": "enum", "required": False, "values": [{"id": "s", "name": "S"}]},
]}
CAMUNDA_FORM = {"kind": "form-js", "schema": json.loads((FORMS / "review.form").read_text())}
SCHEMA = json.loads((FORMS / "intake-schema.json").read_text())
SPIFF = {"kind": "form-js", "json_schema": SCHEMA, "schema": form_js_schema(SCHEMA, {}, "intake")}


def refusals(form, data):
    with pytest.raises(InvalidForm) as refused:
        checked(form, data)
    return {error["field"]: error["message"] for error in refused.value.errors}


def test_camunda_form_fields_type_what_was_typed():
    assert checked(FIELDS, {"customer": "ACME", "amount": "12", "due": "2026-05-01", "rush": "on", "size": "s",
                            "other": 1}) == {"customer": "ACME", "amount": 12, "due": "2026-05-01", "rush": True,
                                             "size": "s", "other": 1}
    assert checked(FIELDS, {"customer": "ACME"}) == {"customer": "ACME", "rush": False}


def test_camunda_form_fields_refuse_each_field_that_does_not_fit():
    assert refusals(FIELDS, {"customer": "A", "amount": "1.5", "due": "May", "size": "xl"}) == {
        "customer": "Customer must have at least 2 characters", "amount": "Amount must be a whole number",
        "due": "Due must be a date (YYYY-MM-DD)", "size": "Size must be one of s"}
    assert refusals(FIELDS, {"amount": 100}) == {"customer": "Customer is required",
                                                 "amount": "Amount must be at most 99"}


def test_a_camunda_form_types_numbers_booleans_and_dates():
    assert checked(CAMUNDA_FORM, {"customer": "ACME", "amount": "250", "approved": "true", "due": "2026-12-01",
                                  "code": "ABC-12", "email": "a@b.co", "size": "l"}) == {
        "customer": "ACME", "amount": 250, "approved": True, "due": "2026-12-01", "code": "ABC-12",
        "email": "a@b.co", "size": "l"}


def test_a_camunda_form_refuses_required_min_max_length_pattern_email_and_choices():
    assert refusals(CAMUNDA_FORM, {"customer": "", "amount": 0, "email": "nobody", "code": "abc", "size": "xl",
                                   "due": "soon"}) == {
        "customer": "Customer is required", "amount": "Amount must be at least 1",
        "email": "Email must be an email address", "code": "Order code must match ^[A-Z]{3}-[0-9]+$",
        "size": "Size must be one of s, l", "due": "Due date must be a date (YYYY-MM-DD)"}
    assert refusals(CAMUNDA_FORM, {"customer": "x" * 41, "amount": 1001}) == {
        "customer": "Customer must have at most 40 characters", "amount": "Amount must be at most 1000"}
    assert refusals(CAMUNDA_FORM, {"customer": "ACME", "amount": 2.5}) == {"amount": "Amount must be a whole number"}


def test_a_spiff_form_is_checked_against_its_json_schema_and_typed():
    data = {"name": "ACME", "email": "a@acme.io", "employees": "40", "rating": 4.5, "vip": False, "plan": "pro",
            "region": "eu", "since": "2020-02-02", "notes": "", "address": {"city": "Oslo", "zip": None},
            "channels": ["mail"]}
    assert checked(SPIFF, data) == {"name": "ACME", "email": "a@acme.io", "employees": 40, "rating": 4.5,
                                    "vip": False, "plan": "pro", "region": "eu", "since": "2020-02-02",
                                    "address": {"city": "Oslo"}, "channels": ["mail"]}


def test_a_spiff_form_refuses_with_the_path_of_each_field():
    found = refusals(SPIFF, {"name": "A", "email": "nope", "employees": 0, "plan": "gold", "region": "asia",
                             "since": "yesterday", "address": {"zip": "x"}, "channels": ["fax"]})
    assert set(found) == {"name", "email", "employees", "plan", "region", "since", "address.city", "address.zip",
                          "channels.0"}
    assert found["address.city"] == "City is required"
    assert found["employees"].startswith("Employees: 0 is less than the minimum of 1")
    assert refusals(SPIFF, {"email": "a@b.co", "employees": 2})["name"] == "Company name is required"
