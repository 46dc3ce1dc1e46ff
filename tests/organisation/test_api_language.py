"""The organisation's API messages in the client's language: English by default, Bahasa Indonesia when the request
asks for it (Accept-Language: id), the same status and the same fields."""

from __future__ import annotations

from typing import Any

BRANCH = {"code": "mtw1", "name": "Kantor Cabang Mataram", "province_code": "52", "regency_code": "5271"}
INDONESIAN = {"Accept-Language": "id-ID,id;q=0.9"}


def both(client: Any, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> tuple[Any, Any]:
    """The same request answered in English, then in Indonesian."""
    english = client.open(path, method=method, headers=headers, **kwargs)
    indonesian = client.open(path, method=method, headers=headers | INDONESIAN, **kwargs)
    assert english.status_code == indonesian.status_code
    return english, indonesian


def test_a_missing_token_is_explained_in_the_clients_language(client, world):
    english, indonesian = both(client, "GET", "/api/v1/branches", {})

    assert english.status_code == 401
    assert english.get_json()["message"] == (
        "Send 'Authorization: Bearer <token>'; get a token from POST /api/v1/auth/token."
    )
    assert indonesian.get_json()["message"] == (
        "Kirim header 'Authorization: Bearer <token>'; token didapat dari POST /api/v1/auth/token."
    )


def test_a_refused_role_names_the_action_in_the_clients_language(client, world):
    path = f"/api/v1/staff/{world['agent'].id}"
    english, indonesian = both(client, "PATCH", path, world["supervisor"].headers, json={"full_name": "Agen Baru"})

    assert english.status_code == 403
    assert english.get_json()["message"] == (
        "A supervisor may not edit the account of a user with role 'agent': ask an admin."
    )
    assert indonesian.get_json()["message"] == (
        "Supervisor tidak boleh mengubah akun pengguna dengan peran 'agent': hubungi admin."
    )


def test_a_schema_validators_field_message_is_in_the_clients_language(client, world):
    english, indonesian = both(
        client, "POST", "/api/v1/branches", world["admin"].headers, json=BRANCH | {"code": "x", "province_code": "5"}
    )

    assert english.status_code == 422
    assert english.get_json()["errors"]["json"]["code"] == ["A branch code has 2 to 16 letters and digits, e.g. PKP."]
    assert english.get_json()["errors"]["json"]["province_code"] == ["A province code has 2 digits, e.g. 19."]
    fields = indonesian.get_json()["errors"]["json"]
    assert fields["code"] == ["Kode cabang terdiri dari 2 sampai 16 huruf dan angka, misalnya PKP."]
    assert fields["province_code"] == ["Kode provinsi terdiri dari 2 angka, misalnya 19."]


def test_a_region_and_a_password_problem_are_worded_with_their_figures(client, world):
    region_en, region_id = both(
        client, "POST", "/api/v1/branches", world["admin"].headers, json=BRANCH | {"regency_code": "1971"}
    )
    assert region_en.status_code == 422
    assert region_en.get_json()["errors"]["json"]["regency_code"] == [
        "1971 (Kota Pangkal Pinang) is not in province 52 (Nusa Tenggara Barat): its code starts with 52."
    ]
    assert region_id.get_json()["errors"]["json"]["regency_code"] == [
        "1971 (Kota Pangkal Pinang) tidak berada di provinsi 52 (Nusa Tenggara Barat): kodenya diawali 52."
    ]

    staff = {"username": "kasir.baru", "full_name": "Kasir Baru", "role": "branch_finance", "branch_id": world["pkp"]}
    short_en, short_id = both(
        client, "POST", "/api/v1/staff", world["admin"].headers, json=staff | {"password": "pendek"}
    )
    assert short_en.status_code == 422
    assert short_en.get_json()["errors"]["json"]["password"] == ["The password must have at least 10 characters."]
    assert short_id.get_json()["errors"]["json"]["password"] == ["Kata sandi minimal 10 karakter."]


def test_the_admin_command_line_keeps_english(pinned_app, world):
    """Outside a request the services would word their messages in Bahasa Indonesia: the console stays English."""
    runner = pinned_app.test_cli_runner()

    result = runner.invoke(args=["admin", "reset-password", "nobody"])

    assert result.exit_code != 0
    assert "There is no user 'nobody'." in result.output
