"""The `bot` command: run, worker, migrate, classify, keys, and admin commands."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from bot import admin
from bot.config import ConfigError, Settings, load_settings
from bot.crypto import new_key
from bot.logs import configure_logging
from bot.storage.db import SchemaBehind, create_engine, migrate


def cmd_run(settings: Settings, _args: argparse.Namespace) -> None:
    from bot.web import create_app

    print(f"web chat:  {settings.public_url}/", flush=True)
    print(f"health:    {settings.public_url}/healthz", flush=True)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)


async def _worker(settings: Settings) -> None:
    from bot.runtime import start_services, stop_services
    from bot.worker import Worker

    services = await start_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await Worker(services).run(stop)
    finally:
        await stop_services(services)


async def _migrate(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    print("database is up to date")


async def _classify(settings: Settings) -> None:
    from bot.classify import classify_lines

    await classify_lines(settings, sys.stdin, sys.stdout)


async def _set_webhook(settings: Settings, platform: str, url: str) -> None:
    import aiohttp

    from bot.channels.webhook_setup import WebhookSetupError, set_webhook

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        try:
            print(await set_webhook(platform, url, dict(settings.raw), http))
        except WebhookSetupError as error:
            raise ConfigError(f"webhooks set --platform {platform}: {error}") from None


def cmd_webhooks(settings: Settings, args: argparse.Namespace) -> None:
    asyncio.run(_set_webhook(settings, args.platform, args.url))


def cmd_keys(_args: argparse.Namespace) -> None:
    """Print fresh secrets in .env format (for local use; production keeps them in a vault)."""
    import secrets

    print(f"PSEUDONYM_KEY={secrets.token_urlsafe(32)}")
    print(f"ENCRYPTION_KEYS={new_key()}")


def _async(
    factory: Callable[[Settings], Coroutine[Any, Any, None]],
) -> Callable[[Settings, argparse.Namespace], None]:
    return lambda settings, _args: asyncio.run(factory(settings))


COMMANDS: dict[str, tuple[str, Callable[[Settings, argparse.Namespace], None]]] = {
    "run": ("run the web app (and the worker, in the embedded default)", cmd_run),
    "worker": ("run the inbox/outbox worker", _async(_worker)),
    "migrate": ("bring the database schema up to date", _async(_migrate)),
    "classify": ("JSON lines {text} on stdin -> classification JSON lines", _async(_classify)),
    "webhooks": ("register the webhook URL with a platform", cmd_webhooks),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    parsers = {name: commands.add_parser(name, help=h) for name, (h, _) in COMMANDS.items()}
    webhook_actions = parsers["webhooks"].add_subparsers(dest="action", required=True)
    setter = webhook_actions.add_parser("set", help="point the platform at --url")
    setter.add_argument("--platform", required=True, choices=["line", "telegram", "messenger"])
    setter.add_argument("--url", required=True, help="https://your.host/webhooks/<platform>")
    commands.add_parser("keys", help="print new secrets for a .env file")
    admin.register(commands)
    args = parser.parse_args(argv)
    if args.command == "keys":
        cmd_keys(args)
        return 0
    configure_logging(stream=sys.stderr if args.command == "classify" else sys.stdout)
    try:
        settings = load_settings()
        if getattr(args, "handler", None) is not None:  # the admin commands
            return int(args.handler(settings, args))
        COMMANDS[args.command][1](settings, args)
    except (ConfigError, SchemaBehind) as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
