from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.support import TEST_SECRETS

GOOD = {**TEST_SECRETS, "DATABASE_URL": "sqlite+aiosqlite:///var/x.db"}


def process_environment_overrides_the_file() -> None:
    settings = load_settings(
        environ={**GOOD, "BOT__SERVICE__PORT": "9001", "NLU_URL": "http://a:1, http://b:2/"}
    )
    assert settings.port == 9001
    assert settings.nlu_urls == ("http://a:1", "http://b:2")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"PSEUDONYM_KEY": ""}, "PSEUDONYM_KEY"),
        ({"ENCRYPTION_KEYS": "short"}, "ENCRYPTION_KEYS"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"BOT__SERVICE__PORT": "eighty"}, "service.port"),
        ({"BOT__NLU__URGENT_THRESHOLD": "0.9"}, "nlu.urgent_threshold"),
        ({"BOT__NLU__URGENT_THRESHOLD_KEYWORDS": "0"}, "nlu.urgent_threshold_keywords"),
        ({"NLU_URL": "ftp://x"}, "nlu.urls"),
        ({"BOT__SERVICE__EMBEDDED_WORKER": "maybe"}, "service.embedded_worker"),
    ],
)
def test_bad_settings_stop_with_one_line_naming_the_key(change: dict, named: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(environ={**GOOD, **change})
    message = str(error.value)
    assert named in message
    assert "\n" not in message


def test_invalid_yaml_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "config.yml"
    broken.write_text("service: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken, environ=GOOD)


def test_encryption_keys_must_be_fernet_keys() -> None:
    from bot.crypto import Vault

    with pytest.raises(ConfigError, match="Fernet"):
        Vault(("not-a-fernet-key-but-long-enough",))
