"""Configuration: one pydantic-settings model. Flags over environment over files over defaults.

Sources, highest first:

1. flags: passed to :func:`load_settings` as ``overrides`` (the constructor's arguments);
2. the environment: ``SYNC_INCIDENT_<KEY>`` and ``SYNC_INCIDENT_<SECTION>__<KEY>``
   (pydantic-settings' own source); any other ``SYNC_INCIDENT_*`` variable is named as unknown
   on every command, and the one-underscore spelling people guess by analogy
   (``SYNC_INCIDENT_BUGZILLA_URL``) is answered with the one meant, never read;
3. the policy file (``--policy FILE``): people, teams, products and the rules;
4. the config file (TOML, ``--config``, ``SYNC_INCIDENT_CONFIG`` or the user config dir), whose
   policy keys may sit at the top level (``[people.alice]``) or under ``[policy]``; both files
   are read by pydantic-settings' TOML source, shaped by :func:`_shape`.

Secrets never come from files: the Bugzilla API key from ``SYNC_INCIDENT_BUGZILLA_API_KEY``
or ``BUGZILLA_API_KEY``; the GitHub token from ``SYNC_INCIDENT_GITHUB_TOKEN``,
``GITHUB_TOKEN`` or ``GH_TOKEN``; chat webhook URLs from the variables ``digest.webhook_env``
names; ``serve``'s webhook secrets and access token from ``SYNC_INCIDENT_GITHUB_WEBHOOK_SECRET``,
``SYNC_INCIDENT_BUGZILLA_WEBHOOK_SECRET`` and ``SYNC_INCIDENT_SERVE_TOKEN``; the chat bot's
``SYNC_INCIDENT_MATRIX_ACCESS_TOKEN``, ``SYNC_INCIDENT_SLACK_BOT_TOKEN`` and
``SYNC_INCIDENT_SLACK_SIGNING_SECRET``. They are :class:`~pydantic.SecretStr`, so they never print.
"""

import os
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
)
from pydantic import field_validator as _field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from sync_incident.core.errors import ConfigError
from sync_incident.core.policy import Policy

ENV_PREFIX = "SYNC_INCIDENT_"
# read elsewhere on purpose (the test suite, the config file location, the request log)
_OTHER_ENV = frozenset({"CONFIG", "LONG", "REQUEST_LOG"})
_SECRET_ENV = {
    "bugzilla_api_key": ("SYNC_INCIDENT_BUGZILLA_API_KEY", "BUGZILLA_API_KEY"),
    "github_token": ("SYNC_INCIDENT_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"),
    "github_webhook_secret": ("SYNC_INCIDENT_GITHUB_WEBHOOK_SECRET",),
    "bugzilla_webhook_secret": ("SYNC_INCIDENT_BUGZILLA_WEBHOOK_SECRET",),
    "serve_token": ("SYNC_INCIDENT_SERVE_TOKEN",),
    "matrix_access_token": ("SYNC_INCIDENT_MATRIX_ACCESS_TOKEN",),
    "slack_bot_token": ("SYNC_INCIDENT_SLACK_BOT_TOKEN",),
    "slack_signing_secret": ("SYNC_INCIDENT_SLACK_SIGNING_SECRET",),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocalSettings(_Section):
    db: Path | None = None  # default: the user data directory (platformdirs)
    user: str | None = None  # who you are on the local tracker; --as overrides


class BugzillaSettings(_Section):
    url: str = "https://bugzilla.mozilla.org"
    # your login: upstream 5.0/5.2 has no /rest/whoami, so the key is checked against it
    login: str | None = None
    auth: Literal["auto", "header", "param", "bearer"] = "auto"
    product: str = ""
    component: str = ""
    mirror_assignee: bool = False
    incident_tag: str = "incident"
    poll_minutes: float = Field(default=5.0, ge=5.0)  # BMO asks for no more than every 5 min


class GitHubSettings(_Section):
    api_url: str = "https://api.github.com"
    repos: list[str] = []  # where `list`, `digest --all-active` and the daemon look
    poll_minutes: float = Field(default=1.0, ge=0.5)


class DigestSettings(_Section):
    post_to: str | None = None  # a bug / issue reference
    webhook_env: list[str] = []  # names of env vars holding Slack/Matrix webhook URLs
    times: list[str] = []  # "09:00 Europe/Berlin": fixed local times
    every_hours: float | None = Field(default=None, gt=0)


class ReminderSettings(_Section):
    handoff_pending_minutes: int = Field(default=60, ge=1)
    no_update_hours: float = Field(default=4.0, gt=0)
    end_of_day_minutes: int = Field(default=60, ge=1)


class DaemonSettings(_Section):
    # a witness checkpoint on each incident whose record changed, at most this often (0: never);
    # it counts only when the daemon's account is one of the policy's witnesses
    checkpoint_minutes: int = Field(default=60, ge=0)


class GateSettings(_Section):
    deadline_seconds: float = Field(default=300.0, gt=0)  # then exit 2, saying why


class ServeSettings(_Section):
    """``sync-incident serve``: where it listens and what it accepts (secrets: env only)."""

    host: str = "127.0.0.1"  # loopback unless told otherwise: put a TLS proxy in front
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)  # webhooks above: 413, unread
    # a webhook body must arrive within this long (then 408 and the connection closed), and at
    # most this many bodies are read at once (more: 503 at once): stalled senders hold neither
    # a connection nor memory for long
    body_seconds: float = Field(default=5.0, gt=0)
    max_pending_bodies: int = Field(default=32, ge=1)
    replay_window: int = Field(default=10_000, ge=1)  # delivery ids remembered (LRU)
    timeline_events: int = Field(default=5, ge=0, le=50)  # last events on each card
    resolved_days: int = Field(default=7, ge=0, le=90)  # resolved incidents listed, 0: none
    webhook_seconds: float = Field(default=8.0, gt=0)  # GitHub gives up after 10 s
    # the header BMO's webhook form sends the shared secret in ("API key header")
    bugzilla_secret_header: str = "X-Sync-Incident-Secret"
    user: str = ""  # basic auth user name; empty: any name with the token as password


def _bound_rooms(value: dict[str, str], what: str) -> dict[str, str]:
    """Each room's incident reference, checked as ``incidents`` are."""
    from sync_incident.core.refs import ReferenceError, parse_ref

    for room, text in value.items():
        if not room.strip():
            raise ValueError(f"a {what} needs an id")
        try:
            parse_ref(text)
        except ReferenceError as exc:
            raise ValueError(f"{room}: {exc}") from None
    return value


class MatrixSettings(_Section):
    """``serve`` follows Matrix rooms as a bot (token: ``SYNC_INCIDENT_MATRIX_ACCESS_TOKEN``)."""

    homeserver: str = ""  # "https://matrix.example.org"; empty: no Matrix
    user_id: str = ""  # the bot's Matrix user, "@sync-bot:example.org"
    device_id: str = ""  # the device the access token belongs to (its login's)
    # rooms bound in the configuration: room id -> incident ("!abc:example.org" = "bug 123456");
    # the incident commander can bind more from a room (`!incident bind bug 123456`)
    rooms: dict[str, str] = {}
    sync_timeout_seconds: float = Field(default=30.0, gt=0, le=300)  # the long poll

    @_field_validator("rooms")
    @classmethod
    def _rooms(cls, value: dict[str, str]) -> dict[str, str]:
        for room in value:
            # room version 12 ids are a bare hash ("!bvc9Ss…"), older ones name a server
            if not room.startswith("!") or len(room) < 2 or any(c.isspace() for c in room):
                raise ValueError(
                    f"{room!r} is not a Matrix room id (like '!abcdef:example.org'; a room "
                    "alias like '#ops:example.org' is not an id)"
                )
        return _bound_rooms(value, "room")


class SlackSettings(_Section):
    """``serve`` answers Slack (secrets: ``SYNC_INCIDENT_SLACK_BOT_TOKEN``,
    ``SYNC_INCIDENT_SLACK_SIGNING_SECRET``); the request URLs are under ``/chat/slack/``."""

    api_url: str = "https://slack.com/api/"
    # channels bound in the configuration: channel id -> incident ("C024BE91L" = "bug 123456")
    channels: dict[str, str] = {}

    @_field_validator("channels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        for channel in value:
            if not channel.isalnum() or not channel.isupper():
                raise ValueError(f"{channel!r} is not a Slack channel id (like 'C024BE91L')")
        return _bound_rooms(value, "channel")


class ChatSettings(_Section):
    """What the chat bot does in bound rooms, on Matrix and Slack alike."""

    # a reply about vague words, at most once per person per room in this many minutes
    nag_minutes: int = Field(default=60, ge=1)
    confirm_minutes: int = Field(default=10, ge=1)  # a confirmation waits this long, then lapses
    catch_vague: bool = True  # reply to vague decisions in bound rooms


class Settings(BaseSettings):
    """Everything configurable; see ``config/sync-incident.toml`` for a commented example."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
    )

    # where the settings came from (not settings themselves; shown by `config check`)
    config_file: Path | None = Field(default=None, exclude=True)
    policy_file: Path | None = Field(default=None, exclude=True)

    tracker: Literal["local", "bugzilla", "github"] = "local"  # where `open` files incidents
    timezone: str | None = None  # your timezone for typed times; default: yours in the policy
    templates_dir: Path | None = None
    cache: Path | None = None  # default: the user cache directory (platformdirs)
    incidents: list[str] = []  # active incidents the digest and daemon watch
    local: LocalSettings = LocalSettings()
    bugzilla: BugzillaSettings = BugzillaSettings()
    github: GitHubSettings = GitHubSettings()
    digest: DigestSettings = DigestSettings()
    reminders: ReminderSettings = ReminderSettings()
    gate: GateSettings = GateSettings()
    daemon: DaemonSettings = DaemonSettings()
    serve: ServeSettings = ServeSettings()
    matrix: MatrixSettings = MatrixSettings()
    slack: SlackSettings = SlackSettings()
    chat: ChatSettings = ChatSettings()
    policy: Policy = Policy()

    bugzilla_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*_SECRET_ENV["bugzilla_api_key"])
    )
    github_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*_SECRET_ENV["github_token"])
    )
    github_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*_SECRET_ENV["github_webhook_secret"])
    )
    bugzilla_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*_SECRET_ENV["bugzilla_webhook_secret"])
    )
    serve_token: SecretStr | None = Field(  # bearer token / basic password for page and API
        default=None, validation_alias=AliasChoices(*_SECRET_ENV["serve_token"])
    )
    matrix_access_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*_SECRET_ENV["matrix_access_token"])
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*_SECRET_ENV["slack_bot_token"])
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*_SECRET_ENV["slack_signing_secret"])
    )
    # the chat webhook URLs, by variable name: the names are settings (digest.webhook_env), so
    # no alias can name them; they are read with the rest, when the settings are built
    _chat_webhooks: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._chat_webhooks = {
            name: SecretStr(os.environ.get(name, "").strip()) for name in self.digest.webhook_env
        }

    @_field_validator("incidents")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        from sync_incident.core.refs import ReferenceError, parse_ref

        for text in value:
            try:
                parse_ref(text)
            except ReferenceError as exc:
                raise ValueError(str(exc)) from None
        return value

    @_field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        from sync_incident.core.policy import check_zone

        return None if value is None else check_zone(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        kwargs = init_settings.init_kwargs if isinstance(init_settings, InitSettingsSource) else {}
        return (
            init_settings,
            env_settings,
            _Toml(settings_cls, kwargs.get("policy_file"), policy_only=True),
            _Toml(settings_cls, kwargs.get("config_file"), policy_only=False),
        )

    def secrets(self) -> list[str]:
        """Every secret a message could carry: the key, the token and the webhook URLs."""
        held = (
            self.bugzilla_api_key,
            self.github_token,
            self.github_webhook_secret,
            self.bugzilla_webhook_secret,
            self.serve_token,
            self.matrix_access_token,
            self.slack_bot_token,
            self.slack_signing_secret,
        )
        found = [s.get_secret_value() for s in held if s]
        found += [url.get_secret_value() for url in self.webhook_urls().values()]
        return [s for s in found if s]

    def webhook_urls(self) -> dict[str, SecretStr]:
        """The chat webhook URLs, by the variable they come from (empty when unset)."""
        return {
            name: self._chat_webhooks.get(name, SecretStr("")) for name in self.digest.webhook_env
        }

    def cache_path(self) -> Path:
        if self.cache is not None:
            return self.cache
        from platformdirs import user_cache_path

        return user_cache_path("sync-incident") / "cache.sqlite3"


class _Toml(TomlConfigSettingsSource):
    """pydantic-settings' TOML source, shaped: the config file (whose policy keys may sit at
    the top level) or the policy file (whose keys all belong to the policy); secrets refused."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None, *, policy_only: bool):
        self._policy_only = policy_only
        if path is not None and not path.exists():
            raise ConfigError(f"config file {path} does not exist", hint="check the path")
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        path = Path(str(file_path))
        return _shape(read_toml(path), path, self._policy_only)


def _shape(data: dict[str, Any], path: Path, policy_only: bool) -> dict[str, Any]:
    secrets = {n.lower() for names in _SECRET_ENV.values() for n in names} | set(_SECRET_ENV)
    leaked = sorted(k for k in data if k.lower() in secrets)
    if leaked:
        raise ConfigError(
            f"{path}: {', '.join(leaked)} is a secret and is never read from a file",
            hint="remove it from the file and set it in the environment (README: Secrets)",
        )
    if policy_only:
        return {"policy": data}
    policy_keys = set(Policy.model_fields)
    out = {k: v for k, v in data.items() if k not in policy_keys}
    moved = {k: v for k, v in data.items() if k in policy_keys}
    if moved:
        nested = out.get("policy", {})
        if not isinstance(nested, dict):
            raise ConfigError(f"{path}: policy must be a table")
        out["policy"] = {**moved, **nested}
    return out


def _sections() -> dict[str, set[str]]:
    return {
        name: set(model.model_fields)
        for name, info in Settings.model_fields.items()
        if isinstance(model := info.annotation, type) and issubclass(model, _Section)
    }


def _meant(name: str, sections: dict[str, set[str]]) -> str | None:
    """``SYNC_INCIDENT_BUGZILLA_URL`` → ``SYNC_INCIDENT_BUGZILLA__URL``: what was meant."""
    rest = name.upper()[len(ENV_PREFIX) :]
    if "__" in rest:
        return None
    for section, keys in sections.items():
        head = section.upper() + "_"
        if rest.startswith(head) and rest[len(head) :].lower() in keys:
            return f"{ENV_PREFIX}{section.upper()}__{rest[len(head) :]}"
    return None


def unknown_env(environ: dict[str, str] | None = None) -> dict[str, str | None]:
    """``SYNC_INCIDENT_*`` variables that set nothing (a typo silently ignored otherwise), each
    with the variable that was probably meant: nested keys take two underscores
    (``SYNC_INCIDENT_BUGZILLA__URL``); the one-underscore spelling is named, never guessed at."""
    env = dict(os.environ) if environ is None else environ
    sections = _sections()
    top = {name.upper() for name in Settings.model_fields} - {"CONFIG_FILE", "POLICY_FILE"}
    known_secrets = {n for names in _SECRET_ENV.values() for n in names}
    unknown: dict[str, str | None] = {}
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known_secrets:
            continue
        rest = upper[len(ENV_PREFIX) :]
        head, _, tail = rest.partition("__")
        if rest in top or rest in _OTHER_ENV or rest.startswith("TEST_"):
            continue
        if tail and (head.lower() in sections or head.lower() == "policy"):
            continue
        unknown[name] = _meant(name, sections)
    return unknown


def env_warnings(environ: dict[str, str] | None = None) -> list[str]:
    """One sentence per ``SYNC_INCIDENT_*`` variable that sets nothing."""
    out = []
    for name, meant in unknown_env(environ).items():
        line = f"{name} is not a sync-incident setting; it is ignored"
        out.append(f"{line} (did you mean {meant}?)" if meant else line)
    return out


def env_secrets() -> list[str]:
    """The secrets set in the environment, for redaction when even the settings are broken."""
    names = [n for names in _SECRET_ENV.values() for n in names]
    return [value for n in names if (value := os.environ.get(n, ""))]


def default_config_path() -> Path | None:
    """``SYNC_INCIDENT_CONFIG``, else the user config file when it exists."""
    explicit = os.environ.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit)
    from platformdirs import user_config_path

    candidate = user_config_path("sync-incident") / "config.toml"
    return candidate if candidate.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here: most commands run without a config file

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", hint="check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="fix the file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", hint="check the path") from None


def load_settings(
    config: Path | None = None,
    *,
    policy_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build settings: ``overrides`` (flags) over env over the files over defaults."""
    path = config or default_config_path()
    try:
        settings = Settings(config_file=path, policy_file=policy_file, **(overrides or {}))
    except ValidationError as exc:
        from sync_incident.core.validation import plain

        sources = [str(p) for p in (path, policy_file) if p] or ["defaults"]
        first = plain(exc.errors()[0]).hint or "fix the named keys"
        raise ConfigError(
            f"invalid configuration ({' + '.join(sources)} + environment): {first_errors(exc)}",
            hint=f"{first}; `sync-incident config check` shows what is in force",
        ) from None
    problems = settings.policy.validate_references()
    if problems:
        raise ConfigError(
            "invalid policy: " + "; ".join(problems), hint="every member must be in [people]"
        )
    return settings


def first_errors(exc: ValidationError, limit: int = 3) -> str:
    """``[bugzilla] poll_minutes: 'often' is not a number; ...``: as the file names places."""
    from sync_incident.core.validation import plain

    parts = []
    for error in exc.errors()[:limit]:
        parts.append(f"{config_key(error['loc'])}: {plain(error).message}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def config_key(loc: tuple[int | str, ...]) -> str:
    """Where a key is, as TOML writes it: ``[bugzilla] poll_minutes``, ``timezone``."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    if not parts:
        return "config"
    if len(parts) == 1:
        return parts[0]
    return f"[{'.'.join(parts[:-1])}] {parts[-1]}"
