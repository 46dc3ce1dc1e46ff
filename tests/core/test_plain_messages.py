"""marshmallow's own messages (required, unknown field, Length, Range, OneOf) come back said plainly, with the
fix, in the reader's language: English by default on the API, Indonesian when asked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

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
