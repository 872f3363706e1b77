"""What has a credential's shape is masked where we echo values and URLs we do not know."""

from __future__ import annotations

import pytest

from sync_incident.core.secrets import looks_like_credential, masked_url

BUGZILLA_KEY = "Zq4RkVb7LmN2pX9cT1wY6hJ3sD8fG5aK0eU2iO7r"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.mark.parametrize("text", [BUGZILLA_KEY, GITHUB_TOKEN, "github_pat_11ABCDEFG0123456789"])
def test_keys_and_tokens_look_like_credentials(text: str) -> None:
    assert looks_like_credential(text)


@pytest.mark.parametrize(
    "text",
    [
        "header",
        "alice@example.com",
        "Firefox 96.0.1",
        "Europe/Berlin",
        "https://bugzilla.example.org/",
        "release_engineering_team",  # long, but no digit
        "1750000",  # digits only
        "short1",
    ],
)
def test_settings_people_write_do_not(text: str) -> None:
    assert not looks_like_credential(text)


def test_a_token_pasted_into_a_url_path_is_masked() -> None:
    url = f"https://api.github.com/{GITHUB_TOKEN}/repos"
    assert masked_url(url) == "https://api.github.com/[REDACTED]/repos"


def test_user_info_and_credential_query_values_are_dropped() -> None:
    url = f"https://bob:pw@bugzilla.example.org:8443/bugzilla?api_key={BUGZILLA_KEY}&x=1"
    assert masked_url(url) == ("https://bugzilla.example.org:8443/bugzilla?api_key=[REDACTED]&x=1")


def test_an_ordinary_url_is_kept_as_it_is() -> None:
    assert masked_url("http://127.0.0.1:18089/bugzilla") == "http://127.0.0.1:18089/bugzilla"
    assert masked_url("http://[::1]:80/x") == "http://[::1]:80/x"
