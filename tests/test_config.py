"""Configuration: file < env < flags, one-line errors, secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_incident.config import (
    default_config_path,
    load_settings,
)
from sync_incident.core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "sync-incident.toml"


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


FILE = """
tracker = "bugzilla"
[bugzilla]
url = "https://file.example"
product = "Release Engineering"
"""


def test_defaults_without_any_file() -> None:
    settings = load_settings()
    assert settings.tracker == "local"
    assert settings.bugzilla.url == "https://bugzilla.mozilla.org"
    assert settings.policy.permissive


def test_example_config_is_valid() -> None:
    settings = load_settings(EXAMPLE)
    assert not settings.policy.permissive


def test_file_overrides_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FILE))
    assert (settings.tracker, settings.bugzilla.url) == ("bugzilla", "https://file.example")


def test_env_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__URL", "https://env.example")
    settings = load_settings(write(tmp_path, FILE))
    assert settings.bugzilla.url == "https://env.example"


def test_env_override_keeps_the_other_keys_of_the_file_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__URL", "https://env.example")
    settings = load_settings(write(tmp_path, FILE))
    assert settings.bugzilla.product == "Release Engineering"


def test_top_level_env_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_TRACKER", "github")
    assert load_settings(write(tmp_path, FILE)).tracker == "github"


def test_flags_override_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__URL", "https://env.example")
    settings = load_settings(
        write(tmp_path, FILE), overrides={"bugzilla": {"url": "https://flag.example"}}
    )
    assert settings.bugzilla.url == "https://flag.example"


def test_config_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_CONFIG", str(write(tmp_path, FILE)))
    assert load_settings().tracker == "bugzilla"


def test_user_config_file_is_found_in_the_config_dir(tmp_path: Path) -> None:
    from platformdirs import user_config_path

    path = user_config_path("sync-incident") / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FILE, encoding="utf-8")
    assert default_config_path() == path
    assert load_settings().tracker == "bugzilla"


def test_no_user_config_file_means_defaults() -> None:
    assert default_config_path() is None


def test_missing_explicit_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_broken_toml_is_a_one_line_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, 'tracker = "local"\n[bugzilla\nurl = 1\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "is not valid TOML" in info.value.message
    assert str(path) in info.value.message
    assert "\n" not in info.value.message


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "trackr = 'local'\n"))
    assert "trackr" in info.value.message
    assert "\n" not in info.value.message


def test_unknown_section_key_is_named_with_its_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[bugzilla\] urll: unknown key"):
        load_settings(write(tmp_path, "[bugzilla]\nurll = 'x'\n"))


def test_invalid_value_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tracker"):
        load_settings(write(tmp_path, "tracker = 'jira'\n"))


def test_invalid_env_value_names_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_TRACKER", "jira")
    with pytest.raises(ConfigError, match=r"environment\)"):
        load_settings()


def test_bad_incident_reference_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="incidents"):
        load_settings(write(tmp_path, "incidents = ['bug twelve']\n"))


def test_policy_member_that_is_not_a_person_is_a_config_error(tmp_path: Path) -> None:
    text = "[people.alice]\n[teams.QA]\nmembers = ['alice', 'ghost']\n"
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert info.value.message == "invalid policy: teams.QA.members: 'ghost' is not in [people]"


def test_required_signoff_from_an_unknown_team_is_a_config_error(tmp_path: Path) -> None:
    text = (
        "[people.alice]\n[teams.QA]\nmembers = ['alice']\n"
        "[products.Firefox]\nrequired_signoffs = ['QA', 'Relengg']\n"
    )
    with pytest.raises(ConfigError, match="no team named 'Relengg'"):
        load_settings(write(tmp_path, text))


def test_invalid_person_timezone_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[policy\.people\.alice\] timezone: unknown timezone"):
        load_settings(write(tmp_path, "[people.alice]\ntimezone = 'Mars/Base'\n"))


def test_separate_policy_file_provides_people_and_teams(tmp_path: Path) -> None:
    policy = write(tmp_path, "[people.alice]\n[teams.QA]\nmembers = ['alice']\n", "policy.toml")
    settings = load_settings(write(tmp_path, FILE), policy_file=policy)
    assert list(settings.policy.teams) == ["QA"]
    assert settings.tracker == "bugzilla"


def test_policy_file_with_other_keys_is_a_config_error(tmp_path: Path) -> None:
    policy = write(tmp_path, "tracker = 'local'\n[people.alice]\n", "policy.toml")
    with pytest.raises(ConfigError, match=r"\[policy\] tracker: unknown key"):
        load_settings(policy_file=policy)


def test_every_policy_key_is_accepted_in_a_policy_file(tmp_path: Path) -> None:
    policy = write(tmp_path, "stale_handoff_minutes = 45\nship_team = 'Relman'\n", "policy.toml")
    assert load_settings(policy_file=policy).policy.stale_handoff_minutes == 45


def test_an_invalid_policy_value_is_a_config_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[policy\] stale_handoff_minutes: must be at least 1"):
        load_settings(write(tmp_path, "stale_handoff_minutes = 0\n"))


def test_the_policy_may_sit_under_a_policy_table(tmp_path: Path) -> None:
    text = "[policy]\nship_team = 'Release Management'\n"
    assert load_settings(write(tmp_path, text)).policy.ship_team == "Release Management"


def test_single_underscore_spelling_is_not_read_but_named_with_the_one_meant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sync_incident.config import env_warnings

    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_URL", "https://bugzilla.example.org")
    assert load_settings().bugzilla.url == "https://bugzilla.mozilla.org"
    assert env_warnings() == [
        "SYNC_INCIDENT_BUGZILLA_URL is not a sync-incident setting; it is ignored "
        "(did you mean SYNC_INCIDENT_BUGZILLA__URL?)"
    ]


def test_double_underscore_spelling_of_a_section_key_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_LOCAL__DB", "/tmp/x.sqlite3")
    monkeypatch.setenv("SYNC_INCIDENT_GITHUB__API_URL", "https://ghe.example.org/api/v3")
    settings = load_settings()
    assert settings.local.db == Path("/tmp/x.sqlite3")
    assert settings.github.api_url == "https://ghe.example.org/api/v3"


def test_unknown_sync_incident_variables_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from sync_incident.config import unknown_env

    monkeypatch.setenv("SYNC_INCIDENT_BUGZILA__URL", "typo")
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__URL", "fine")
    monkeypatch.setenv("SYNC_INCIDENT_TRACKR", "typo")
    assert unknown_env() == {"SYNC_INCIDENT_BUGZILA__URL": None, "SYNC_INCIDENT_TRACKR": None}


def test_a_key_put_in_a_setting_by_mistake_is_not_echoed_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "Zq4RkVb7LmN2pX9cT1wY6hJ3sD8fG5aK0eU2iO7r"  # Bugzilla's shape: 40 letters and digits
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__AUTH", key)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert key not in caught.value.message and key not in caught.value.hint
    assert "[bugzilla] auth: [REDACTED] is not a valid auth" in caught.value.message


def test_a_value_that_is_no_key_is_still_echoed_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__AUTH", "headers")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "[bugzilla] auth: 'headers' is not a valid auth" in caught.value.message


def test_secret_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, "[bugzilla]\napi_key = 'hunter2-secret'\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "api_key" in info.value.message
    assert "hunter2-secret" not in info.value.message


def test_token_in_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="token"):
        load_settings(write(tmp_path, "[github]\ntoken = 'ghp_x'\n"))


def test_bugzilla_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUGZILLA_API_KEY", "plain-key")
    key = load_settings().bugzilla_api_key
    assert key is not None and key.get_secret_value() == "plain-key"


def test_prefixed_bugzilla_key_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUGZILLA_API_KEY", "plain-key")
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", "prefixed-key")
    key = load_settings().bugzilla_api_key
    assert key is not None and key.get_secret_value() == "prefixed-key"


@pytest.mark.parametrize("name", ["SYNC_INCIDENT_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"])
def test_github_token_comes_from_the_environment(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, "ghp_secret")
    token = load_settings().github_token
    assert token is not None and token.get_secret_value() == "ghp_secret"


def test_github_token_order_of_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "c")
    monkeypatch.setenv("GITHUB_TOKEN", "b")
    monkeypatch.setenv("SYNC_INCIDENT_GITHUB_TOKEN", "a")
    token = load_settings().github_token
    assert token is not None and token.get_secret_value() == "a"


def test_no_secrets_without_environment() -> None:
    assert load_settings().bugzilla_api_key is None and load_settings().github_token is None


def test_empty_secret_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "")
    assert load_settings().github_token is None


def test_secret_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUGZILLA_API_KEY", "hunter2-secret")
    key = load_settings().bugzilla_api_key
    assert "hunter2-secret" not in str(key)
    assert "hunter2-secret" not in repr(key)
    assert "hunter2-secret" not in f"{key}"


def test_settings_never_carry_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUGZILLA_API_KEY", "hunter2-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    dumped = load_settings().model_dump_json()
    assert "hunter2-secret" not in dumped and "ghp_secret" not in dumped


def test_chat_webhook_urls_are_read_when_the_settings_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_HOOK", " https://hooks.example/T0/B0/s3cret ")
    settings = load_settings(write(tmp_path, '[digest]\nwebhook_env = ["TEAM_HOOK", "NOT_SET"]\n'))
    monkeypatch.delenv("TEAM_HOOK")
    urls = {name: url.get_secret_value() for name, url in settings.webhook_urls().items()}
    assert urls == {"TEAM_HOOK": "https://hooks.example/T0/B0/s3cret", "NOT_SET": ""}
    assert "https://hooks.example/T0/B0/s3cret" in settings.secrets()
    assert "s3cret" not in settings.model_dump_json()


def test_cache_path_from_the_environment(tmp_path: Path) -> None:
    # the hermetic fixture points SYNC_INCIDENT_CACHE into tmp_path
    assert load_settings().cache_path().is_relative_to(tmp_path)


def test_bugzilla_poll_interval_respects_bmo(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[bugzilla\] poll_minutes: must be at least 5"):
        load_settings(write(tmp_path, "[bugzilla]\npoll_minutes = 1\n"))


def test_policy_switches_reach_the_policy(tmp_path: Path) -> None:
    text = "ship_team = 'Release Management'\nrenew_signoffs_after_hold = false\n"
    policy = load_settings(write(tmp_path, text)).policy
    assert (policy.ship_team, policy.renew_signoffs_after_hold) == ("Release Management", False)


def test_the_chat_bots_secrets_come_from_the_environment_and_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_MATRIX_ACCESS_TOKEN", "syt_matrix_s3cret")
    monkeypatch.setenv("SYNC_INCIDENT_SLACK_BOT_TOKEN", "xoxb-slack-s3cret")
    monkeypatch.setenv("SYNC_INCIDENT_SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
    settings = load_settings()
    assert {"syt_matrix_s3cret", "xoxb-slack-s3cret", "8f742231b10e8888abcd99yyyzzz85a5"} <= set(
        settings.secrets()
    )
    assert "s3cret" not in settings.model_dump_json()
    with pytest.raises(ConfigError, match="is a secret and is never read from a file"):
        load_settings(write(tmp_path, 'slack_bot_token = "xoxb-in-a-file"\n'))


def test_bound_rooms_name_a_room_id_and_an_incident(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            '[matrix]\nrooms = {"!ops:example.org" = "bug 123456"}\n'
            '[slack]\nchannels = {"C024BE91L" = "issue acme/releases#42"}\n',
        )
    )
    assert settings.matrix.rooms == {"!ops:example.org": "bug 123456"}
    assert settings.slack.channels == {"C024BE91L": "issue acme/releases#42"}
    with pytest.raises(ConfigError, match="is not a Matrix room id"):
        load_settings(write(tmp_path, '[matrix]\nrooms = {"#ops:example.org" = "bug 1"}\n'))
    with pytest.raises(ConfigError, match="C024BE91L"):
        load_settings(write(tmp_path, '[slack]\nchannels = {"C024BE91L" = "bugg 1"}\n'))
