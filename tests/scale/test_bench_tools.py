"""The benchmark helpers (bench/) do what docs/benchmarks.md says. No figure is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench import loadgen, run
from bench.peer import intents_of, write_project


def test_summary_percentiles_in_milliseconds() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    s = run.summary(values)
    assert s["n"] == 100 and s["p50_ms"] == pytest.approx(50.5, abs=1)
    assert s["p99_ms"] == pytest.approx(99, abs=1) and s["max_ms"] == pytest.approx(100)
    assert run.summary([]) == {"n": 0}


def test_best_rate_at_equal_p99_ignores_steps_that_dropped_messages() -> None:
    steps = [
        {"throughput_per_s": 10, "sent": 100, "answered": 100, "latency": {"p99_ms": 80}},
        {"throughput_per_s": 20, "sent": 200, "answered": 200, "latency": {"p99_ms": 400}},
        {"throughput_per_s": 35, "sent": 400, "answered": 390, "latency": {"p99_ms": 450}},
        {"throughput_per_s": 38, "sent": 400, "answered": 400, "latency": {"p99_ms": 900}},
    ]
    assert run.best_at_p99(steps, 500) == 20


def test_messages_are_deterministic_and_spread_over_sessions() -> None:
    a = run.text_messages(30, sessions=10, salt=1, numbered=True)
    assert a == run.text_messages(30, sessions=10, salt=1, numbered=True)
    assert len({m["session"] for m in a}) == 10
    assert a[7]["text"].endswith(" 7")
    payloads = {m["payload"] for m in run.postback_messages(12, sessions=4, salt=2)}
    assert payloads == set(run.POSTBACKS)


def test_load_generator_refuses_anything_but_loopback() -> None:
    with pytest.raises(SystemExit):
        loadgen._loopback_only("http://example.org:8080")
    loadgen._loopback_only("http://127.0.0.1:8080")


def test_peer_project_answers_every_intent_through_a_rule(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "peer")
    intents = intents_of(folder / "nlu.yml")
    domain = yaml.safe_load((folder / "domain.yml").read_text())
    rules = yaml.safe_load((folder / "rules.yml").read_text())["rules"]
    config = yaml.safe_load((folder / "config.yml").read_text())
    ours = yaml.safe_load((run.REPO / "nlu" / "rasa" / "config.yml").read_text())
    assert len(intents) > 20 and domain["intents"] == intents
    assert set(domain["responses"]) == {f"utter_{i}" for i in intents}
    assert {r["steps"][0]["intent"]: r["steps"][1]["action"] for r in rules} == {
        i: f"utter_{i}" for i in intents
    }
    assert config["pipeline"] == ours["pipeline"]  # the same NLU as the bot's model
    assert config["policies"] == [{"name": "RulePolicy"}]


async def test_floor_service_keeps_the_delivery_contract(tmp_path: Path) -> None:
    """bench.floor stores an event before its 200, a redelivery once, and one reply each."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer
    from sqlalchemy import select

    from bench.floor import Floor, floor_inbox, floor_outbox, metadata
    from bot.storage.db import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/floor.db")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    floor = Floor(engine)
    app = web.Application()
    app.router.add_post("/chat/messages", floor.webhook)
    async with TestClient(TestServer(app)) as client:
        for body in (
            {"session": "s1", "id": "1", "payload": "menu"},
            {"session": "s1", "id": "1", "payload": "menu"},  # redelivered
            {"session": "s2", "id": "1", "text": "hello"},
        ):
            assert (await client.post("/chat/messages", json=body)).status == 200
        assert (await client.post("/chat/messages", data=b"{not json")).status == 400
    async with engine.connect() as conn:
        assert (await conn.execute(select(floor_inbox.c.state))).scalars().all() == ["pending"] * 2
    assert await floor.handle_batch() == 2
    assert await floor.handle_batch() == 0
    async with engine.connect() as conn:
        replies = (await conn.execute(select(floor_outbox.c.event_key))).scalars().all()
        states = (await conn.execute(select(floor_inbox.c.state))).scalars().all()
    await engine.dispose()
    assert sorted(replies) == ["s1:1", "s2:1"] and states == ["done", "done"]
