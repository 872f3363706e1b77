"""Configuration: flags over environment over file over defaults (pydantic-settings).

The file is TOML (an example lives in ``config/sync-incident.toml``); every setting also reads
from ``SYNC_INCIDENT_<SECTION>__<KEY>`` environment variables. The policy (people, teams,
products) lives in the same file or in a separate one (``--policy FILE``).

Secrets never come from files: the Bugzilla API key from ``SYNC_INCIDENT_BUGZILLA_API_KEY``
or ``BUGZILLA_API_KEY``; the GitHub token from ``SYNC_INCIDENT_GITHUB_TOKEN``, ``GITHUB_TOKEN``
or ``GH_TOKEN``; digest webhook URLs from the variables the config names.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sync_incident.errors import ConfigError
from sync_incident.policy import Person, Policy, ProductPolicy, Team

ENV_PREFIX = "SYNC_INCIDENT_"
_file_data: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("file_data")


class LocalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    db: Path | None = None  # default: the user data directory (platformdirs)
    user: str | None = None  # default identity for posts; --as overrides


class BugzillaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "https://bugzilla.mozilla.org"
    # your login: upstream 5.0/5.2 has no /rest/whoami, so the key is checked against it
    login: str | None = None
    auth: Literal["auto", "header", "param", "bearer"] = "auto"
    product: str = ""
    component: str = ""
    mirror_assignee: bool = False
    incident_tag: str = "incident"
    poll_minutes: float = Field(default=5.0, ge=5.0)  # BMO asks for no more than every 5 min


class GitHubSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_url: str = "https://api.github.com"
    repos: list[str] = []  # where `digest --all-active` and the daemon look for incidents
    poll_minutes: float = Field(default=1.0, ge=0.5)


class DigestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    post_to: str | None = None  # a bug / issue reference
    webhook_env: list[str] = []  # names of env vars holding Slack/Matrix webhook URLs
    times: list[str] = []  # "09:00 Europe/Berlin": fixed local times
    every_hours: float | None = None


class ReminderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handoff_pending_minutes: int = 60
    no_update_hours: float = 4.0
    end_of_day_minutes: int = 60


class _FileSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _file_data.get({}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_file_data.get({}))


class Settings(BaseSettings):
    """Everything configurable; see ``config/sync-incident.toml`` for a commented example."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=False
    )

    tracker: Literal["local", "bugzilla", "github"] = "local"  # where `open` files incidents
    templates_dir: Path | None = None
    cache: Path | None = None  # default: the user cache directory (platformdirs)
    incidents: list[str] = []  # active incidents the digest and daemon watch
    local: LocalSettings = LocalSettings()
    bugzilla: BugzillaSettings = BugzillaSettings()
    github: GitHubSettings = GitHubSettings()
    digest: DigestSettings = DigestSettings()
    reminders: ReminderSettings = ReminderSettings()
    people: dict[str, Person] = {}
    teams: dict[str, Team] = {}
    products: dict[str, ProductPolicy] = {}
    ship_team: str = "Relman"
    renew_signoffs_after_hold: bool = True
    stale_handoff_minutes: int = 120

    @field_validator("incidents")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        from sync_incident.refs import ReferenceError, parse_ref

        for text in value:
            try:
                parse_ref(text)
            except ReferenceError as exc:
                raise ValueError(str(exc)) from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))

    @property
    def policy(self) -> Policy:
        return Policy(
            people=self.people,
            teams=self.teams,
            products=self.products,
            ship_team=self.ship_team,
            renew_signoffs_after_hold=self.renew_signoffs_after_hold,
            stale_handoff_minutes=self.stale_handoff_minutes,
        )

    def cache_path(self) -> Path:
        if self.cache is not None:
            return self.cache
        from platformdirs import user_cache_path

        return user_cache_path("sync-incident") / "cache.sqlite3"


def default_config_path() -> Path | None:
    """``SYNC_INCIDENT_CONFIG``, else the user config file when it exists."""
    explicit = os.environ.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit)
    from platformdirs import user_config_path

    candidate = user_config_path("sync-incident") / "config.toml"
    return candidate if candidate.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", hint="check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="fix the file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def load_settings(
    config: Path | None = None,
    *,
    policy_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build settings: ``overrides`` (flags) over env over ``config`` file over defaults."""
    path = config or default_config_path()
    data = read_toml(path) if path is not None else {}
    if policy_file is not None:
        policy_data = read_toml(policy_file)
        for key in ("people", "teams", "products", "ship_team", "renew_signoffs_after_hold"):
            if key in policy_data:
                data[key] = policy_data.pop(key)
        if policy_data:
            names = ", ".join(sorted(policy_data))
            raise ConfigError(f"{policy_file}: unknown policy keys: {names}")
    token = _file_data.set(data)
    try:
        settings = Settings(**(overrides or {}))
    except ValidationError as exc:
        source = str(path) if path else "environment"
        raise ConfigError(f"invalid configuration ({source}): {_first_errors(exc)}") from None
    finally:
        _file_data.reset(token)
    problems = settings.policy.validate_references()
    if problems:
        raise ConfigError("invalid policy: " + "; ".join(problems))
    return settings


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "config"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def bugzilla_key() -> SecretStr | None:
    value = os.environ.get(ENV_PREFIX + "BUGZILLA_API_KEY") or os.environ.get("BUGZILLA_API_KEY")
    return SecretStr(value) if value else None


def github_token() -> SecretStr | None:
    for name in (ENV_PREFIX + "GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"):
        value = os.environ.get(name)
        if value:
            return SecretStr(value)
    return None
