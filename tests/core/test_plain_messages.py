"""marshmallow's own messages (required, unknown field, Length, Range, OneOf) come back said plainly, with the
fix, in the reader's language: English by default on the API, Indonesian when asked."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import ValidationError, validate

from core.errors import plain_messages


@pytest.mark.parametrize(
    ("marshmallow", "plain"),
    [
        ("Missing data for required field.", "Required: give a value for this field."),
        ("Length must be between 3 and 64.", "Give between 3 and 64 characters (or items)."),
        ("Longer than maximum length 80.", "Too long: give at most 80 characters (or items)."),
        (
            "Must be greater than or equal to 1 and less than or equal to 12.",
            "Out of range: give a number from 1 to 12.",
        ),
        ("Must be greater than or equal to 0.", "Too small: give 0 or more."),
        ("Must be one of: bri, bni.", "Not one of the values this field takes: give one of bri, bni."),
        ("Something a schema of ours said.", "Something a schema of ours said."),
    ],
)
def test_marshmallows_messages_are_said_plainly(app: Any, marshmallow: str, plain: str) -> None:
    with app.test_request_context("/api/v1/deposits"):
        assert plain_messages({"json": {"field": [marshmallow]}}) == {"json": {"field": [plain]}}


def test_a_bad_deposit_is_told_what_to_fix_in_english_and_in_indonesian(client: Any, world: dict[str, Any]) -> None:
    def post(query: str) -> Any:
        headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
        body = {"amount_idr": 0, "bank_reference": "ab", "deposited_by": "x"}
        return client.post(f"/api/v1/deposits{query}", json=body, headers=headers)

    english, indonesian = post(""), post("?lang=id")

    assert english.status_code == indonesian.status_code == 422
    assert english.get_json()["errors"]["json"] == {
        "amount_idr": ["Out of range: give a number from 1 to 2147483647."],
        "bank_reference": ["Give between 3 and 64 characters (or items)."],
        "deposited_by": ["Not a field of this request: leave it out (the API docs list the fields)."],
    }
    assert indonesian.get_json()["errors"]["json"]["bank_reference"] == ["Isi antara 3 dan 64 karakter (atau butir)."]


RANGES = [  # every way validate.Range words its bounds, inclusive or not, whole or not; (too small, too large)
    (validate.Range(min=1, max=12), "Out of range: give a number from 1 to 12.", "Di luar batas: isi angka dari 1"),
    (
        validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False),
        "Out of range: give more than 0 and less than 1.",
        "Di luar batas: isi lebih dari 0 dan kurang dari 1.",
    ),
    (
        validate.Range(min=0.5, max=2.5, max_inclusive=False),
        "Out of range: give at least 0.5 and less than 2.5.",
        "Di luar batas: isi paling sedikit 0.5 dan kurang dari 2.5.",
    ),
    (
        validate.Range(min=Decimal("0.01"), max=Decimal("99.99"), min_inclusive=False),
        "Out of range: give more than 0.01 and at most 99.99.",
        "Di luar batas: isi lebih dari 0.01 dan paling banyak 99.99.",
    ),
    (
        validate.Range(min=1e-05, min_inclusive=False),
        "Too small: give more than 1e-05.",
        "Terlalu kecil: isi lebih dari",
    ),
    (validate.Range(min=0.25), "Too small: give 0.25 or more.", "Terlalu kecil: isi 0.25 atau lebih."),
    (
        validate.Range(max=1.5, max_inclusive=False),
        "Too large: give less than 1.5.",
        "Terlalu besar: isi kurang dari 1.5.",
    ),
    (validate.Range(max=-0.5), "Too large: give -0.5 or less.", "Terlalu besar: isi -0.5 atau kurang."),
]


@pytest.mark.parametrize(("validator", "english", "indonesian"), RANGES)
def test_every_range_message_is_said_plainly_whatever_its_bounds(
    app: Any, validator: validate.Range, english: str, indonesian: str
) -> None:
    """marshmallow's own words for exclusive and fractional bounds (``Must be greater than 0.``) are replaced too."""
    wrong = validator.min - 1 if validator.min is not None else validator.max + 1
    with pytest.raises(ValidationError) as raised:
        validator(wrong)
    (message,) = raised.value.messages
    with app.test_request_context("/api/v1/deposits"):
        assert plain_messages([message]) == [english]
    with app.test_request_context("/api/v1/deposits?lang=id"):
        app.preprocess_request()
        assert plain_messages([message])[0].startswith(indonesian)
