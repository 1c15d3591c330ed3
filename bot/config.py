"""Settings: config.yml, overridden by the environment; invalid settings stop start-up.

Every leaf key can be overridden with BOT__SECTION__KEY. The usual names of the deployment
world (DATABASE_URL, NLU_URL, ...) are aliases listed in ENV_ALIASES.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

Number = TypeVar("Number", int, float)

ENV_ALIASES: dict[str, str] = {
    "DATABASE_URL": "database.url",
    "NLU_URL": "nlu.urls",
    "PORT": "service.port",
    "PUBLIC_URL": "service.public_url",
    "PSEUDONYM_KEY": "security.pseudonym_key",
    "ENCRYPTION_KEYS": "security.encryption_keys",
    "LINE_CHANNEL_SECRET": "channels.line.channel_secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "channels.line.access_token",
    "LINE_API_BASE": "channels.line.api_base",
    "TELEGRAM_BOT_TOKEN": "channels.telegram.bot_token",
    "TELEGRAM_SECRET_TOKEN": "channels.telegram.secret_token",
    "TELEGRAM_API_BASE": "channels.telegram.api_base",
    "MESSENGER_APP_SECRET": "channels.messenger.app_secret",
    "MESSENGER_PAGE_ACCESS_TOKEN": "channels.messenger.page_access_token",
    "MESSENGER_VERIFY_TOKEN": "channels.messenger.verify_token",
    "MESSENGER_API_BASE": "channels.messenger.api_base",
    "REDIS_URL": "ratelimit.redis_url",
}

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """One clear line: which key, what is expected."""


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: cannot set below a non-mapping value")
    node[leaf] = value


def merge_environment(tree: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for name, value in environ.items():
        if name in ENV_ALIASES:
            _set_path(tree, ENV_ALIASES[name], value)
        elif name.startswith("BOT__"):
            _set_path(tree, name[5:].lower().replace("__", "."), value)
    return tree


def _get(tree: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _number(
    tree: Mapping[str, Any], key: str, default: Number, minimum: Number, kind: type[Number]
) -> Number:
    raw = _get(tree, key, default)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        expected = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{key}: expected {expected}, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{key}: expected a number >= {minimum}, got {value}")
    return value


def _int(tree: Mapping[str, Any], key: str, default: int, minimum: int = 0) -> int:
    return _number(tree, key, default, minimum, int)


def _float(tree: Mapping[str, Any], key: str, default: float, lo: float = 0.0) -> float:
    return _number(tree, key, default, lo, float)


def _bool(tree: Mapping[str, Any], key: str, default: bool) -> bool:
    raw = _get(tree, key, default)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{key}: expected true or false, got {raw!r}")


def _url_list(tree: Mapping[str, Any], key: str) -> tuple[str, ...]:
    raw = _get(tree, key, [])
    items = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else list(raw or [])
    urls = tuple(u.rstrip("/") for u in items if u)
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{key}: expected http(s) URLs, got {url!r}")
    return urls


def _str_list(tree: Mapping[str, Any], key: str) -> tuple[str, ...]:
    raw = _get(tree, key, [])
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    return tuple(str(i).strip() for i in items if str(i).strip())


def _redis_url(tree: Mapping[str, Any]) -> str:
    url = str(_get(tree, "ratelimit.redis_url", "") or "").strip()
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"ratelimit.redis_url (REDIS_URL): expected redis://HOST:PORT/DB, got {url!r}"
        )
    return url


@dataclass(frozen=True, slots=True)
class Settings:
    raw: Mapping[str, Any]  # the merged tree, for channel settings
    host: str
    port: int
    public_url: str
    embedded_worker: bool
    max_text_chars: int
    max_messages_per_minute: int
    webchat_max_body_bytes: int
    database_url: str
    worker_batch_size: int
    worker_batch_seconds: float
    worker_lease_seconds: float
    worker_poll_interval: float
    worker_max_attempts: int
    backoff_base: float
    backoff_max: float
    nlu_urls: tuple[str, ...]
    nlu_timeout: float
    info_threshold: float
    urgent_threshold: float  # for Rasa's ranking
    urgent_threshold_keywords: float  # for the keyword fallback's ranking (Rasa down)
    breaker_failures: int
    breaker_cooldown: float
    zawgyi_threshold: float
    content_dir: Path
    pseudonym_key: bytes
    encryption_keys: tuple[str, ...]
    # privacy (bot.retention); 0 days keeps forever
    message_retention_days: int = 90
    queue_retention_days: int = 14
    case_retention_days: int = 365
    retention_interval_minutes: float = 60.0
    # per-IP limits (bot.ratelimit)
    redis_url: str = ""
    chat_per_minute: int = 120
    chat_burst: int = 60
    webhook_per_minute: int = 6000
    webhook_burst: int = 1000
    trusted_proxies: tuple[str, ...] = ()

    def urgent_threshold_for(self, source: str | None) -> float:
        """The urgent threshold for a ranking by `source` ("rasa" or "keywords"): the
        keyword fallback's weak topic matches sit at 0.25 and must not escalate."""
        return self.urgent_threshold if source == "rasa" else self.urgent_threshold_keywords

    def section(self, dotted: str) -> Mapping[str, Any]:
        value = _get(self.raw, dotted, {})
        return value if isinstance(value, Mapping) else {}


def _secret(tree: Mapping[str, Any], key: str, env_name: str) -> str:
    value = str(_get(tree, key, "") or "")
    if len(value) < 16:
        raise ConfigError(
            f"{key}: set the environment variable {env_name} to a random secret of at least"
            " 16 characters (`make run` writes one into .env for local use)"
        )
    return value


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    path = path or Path(os.environ.get("BOT_CONFIG", ROOT / "config.yml"))
    environ = os.environ if environ is None else environ
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found (set BOT_CONFIG)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"config file {path}: expected a mapping at the top")
    tree = merge_environment(tree, environ)

    database_url = str(_get(tree, "database.url", ""))
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "database.url (DATABASE_URL): expected sqlite+aiosqlite:///FILE or"
            f" postgresql+asyncpg://USER@HOST/DB, got {database_url!r}"
        )
    info = _float(tree, "nlu.info_threshold", 0.55)
    urgent = _float(tree, "nlu.urgent_threshold", 0.25)
    urgent_keywords = _float(tree, "nlu.urgent_threshold_keywords", 0.35)
    for name, value in (
        ("urgent_threshold", urgent),
        ("urgent_threshold_keywords", urgent_keywords),
    ):
        if not 0 < value <= info <= 1:
            raise ConfigError(
                f"nlu.{name} and nlu.info_threshold: expected 0 < urgent <= info <= 1"
            )
    keys = tuple(
        k.strip()
        for k in _secret(tree, "security.encryption_keys", "ENCRYPTION_KEYS").split(",")
        if k.strip()
    )
    content_dir = Path(str(_get(tree, "content.dir", "content")))
    if not content_dir.is_absolute():
        content_dir = ROOT / content_dir
    if not content_dir.is_dir():
        raise ConfigError(f"content.dir: {content_dir} is not a folder")
    return Settings(
        raw=tree,
        host=str(_get(tree, "service.host", "127.0.0.1")),
        port=_int(tree, "service.port", 8080, minimum=0),
        public_url=str(_get(tree, "service.public_url", "http://localhost:8080")).rstrip("/"),
        embedded_worker=_bool(tree, "service.embedded_worker", True),
        max_text_chars=_int(tree, "service.max_text_chars", 4000, minimum=100),
        max_messages_per_minute=_int(tree, "service.max_messages_per_minute", 20, minimum=1),
        webchat_max_body_bytes=_int(tree, "service.webchat_max_body_bytes", 65536, 1024),
        database_url=database_url,
        worker_batch_size=_int(tree, "worker.batch_size", 20, minimum=1),
        worker_batch_seconds=_float(tree, "worker.batch_seconds", 0.02, lo=0.0),
        worker_lease_seconds=_float(tree, "worker.lease_seconds", 60.0, lo=1.0),
        worker_poll_interval=_float(tree, "worker.poll_interval_seconds", 0.2, lo=0.01),
        worker_max_attempts=_int(tree, "worker.max_attempts", 8, minimum=1),
        backoff_base=_float(tree, "worker.backoff_base_seconds", 1.0, lo=0.0),
        backoff_max=_float(tree, "worker.backoff_max_seconds", 300.0, lo=0.0),
        nlu_urls=_url_list(tree, "nlu.urls"),
        nlu_timeout=_float(tree, "nlu.timeout_seconds", 3.0, lo=0.05),
        info_threshold=info,
        urgent_threshold=urgent,
        urgent_threshold_keywords=urgent_keywords,
        breaker_failures=_int(tree, "nlu.breaker_failures", 3, minimum=1),
        breaker_cooldown=_float(tree, "nlu.breaker_cooldown_seconds", 15.0),
        zawgyi_threshold=_float(tree, "nlu.zawgyi_threshold", 0.95),
        content_dir=content_dir,
        pseudonym_key=_secret(tree, "security.pseudonym_key", "PSEUDONYM_KEY").encode(),
        encryption_keys=keys,
        message_retention_days=_int(tree, "privacy.message_retention_days", 90),
        queue_retention_days=_int(tree, "privacy.queue_retention_days", 14),
        case_retention_days=_int(tree, "privacy.case_retention_days", 365),
        retention_interval_minutes=_float(tree, "privacy.retention_interval_minutes", 60.0),
        redis_url=_redis_url(tree),
        chat_per_minute=_int(tree, "ratelimit.chat_per_minute", 120, minimum=1),
        chat_burst=_int(tree, "ratelimit.chat_burst", 60, minimum=1),
        webhook_per_minute=_int(tree, "ratelimit.webhook_per_minute", 6000, minimum=1),
        webhook_burst=_int(tree, "ratelimit.webhook_burst", 1000, minimum=1),
        trusted_proxies=_str_list(tree, "ratelimit.trusted_proxies"),
    )
