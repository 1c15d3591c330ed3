"""A worker's urgent message through the web chat, a volunteer's claim, reply and close."""

from __future__ import annotations

import uuid

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.outbox import decode_payload
from bot.storage.models import AuditEvent, Case, Contact, Conversation, OutboxMessage, Volunteer
from bot.worker import Worker
from tests.console.support import World, login, make_case, post
from tests.support import services_of, stream_replies_until


class WebChatWorker:
    """A worker typing into the web chat, as the browser widget does."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.session = str(uuid.uuid4())

    async def say(self, text: str | None = None, payload: str | None = None) -> None:
        body: dict = {"session": self.session, "id": str(uuid.uuid4())}
        if payload is not None:
            body["payload"] = payload
        else:
            body["text"] = text
        response = await self.client.post("/chat/messages", json=body)
        assert response.status == 200, await response.text()
        await Worker(services_of(self.client)).drain()

    async def replies_until(self, text: str) -> list[str]:
        """The chat's event stream, in order, up to the reply `text`."""
        response = await self.client.get("/chat/events", params={"session": self.session})
        seen = await stream_replies_until(response, text, within=10)
        response.close()
        return seen


async def open_urgent_case(worker: WebChatWorker) -> None:
    await worker.say("help i cannot leave, they lock me in")
    for payload in ("consent:yes", "province:tak", "sector:skip", "safe:no", "later:yes"):
        await worker.say(payload=payload)


async def outbox_texts(client: TestClient, contact_id: int | None = None) -> list[tuple]:
    services = services_of(client)
    async with services.db() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        rows = (await session.execute(query)).scalars().all()
    out = []
    for row in rows:
        data = decode_payload(services.vault, row.payload_enc)
        out.append((row.sender, row.idempotency_key, data["replies"]))
    return out


async def test_claim_reply_close_and_the_bot_answers_again(client, world: World) -> None:
    services = services_of(client)
    worker = WebChatWorker(client)
    await open_urgent_case(worker)
    async with services.db() as session:
        case = await session.scalar(select(Case).where(Case.id > world.case_b))
        assert case is not None and case.urgent and case.status == "open"
        email = await session.scalar(
            select(Volunteer.email).where(
                Volunteer.organisation_id == case.organisation_id, Volunteer.role == "volunteer"
            )
        )
    case_id = case.id

    assert await login(client, email)
    queue = await (await client.get("/console/cases")).text()
    assert f'data-case="{case_id}"' in queue
    view = await (await client.get(f"/console/cases/{case_id}")).text()
    assert "help i cannot leave, they lock me in" in view  # decrypted for the helper

    assert (await post(client, f"/console/cases/{case_id}/claim")).status == 303
    async with services.db() as session:
        case = await session.get(Case, case_id)
        conversation = await session.get(Conversation, case.conversation_id)
        assert case.status == "claimed" and conversation.handler == "human"
    sent = await outbox_texts(client)
    joined = sent[-1][2][0]
    assert joined.text == services.content.ui("en", "human_joined")
    assert [b.payload for b in joined.buttons] == ["bot"]

    response = await post(client, f"/console/cases/{case_id}/reply", text="We can help. Where?")
    assert response.status == 303
    sender, key, replies = (await outbox_texts(client))[-1]
    assert sender == "volunteer" and key.startswith(f"vol:{case_id}:")
    assert replies[0].text == "We can help. Where?"
    async with services.db() as session:
        assert (await session.get(Case, case_id)).first_reply_at is not None
    await Worker(services).drain()

    # The worker's chat shows the hand-over and the reply, in order, after the bot's turns.
    texts = await worker.replies_until("We can help. Where?")
    position = texts.index(services.content.ui("en", "human_joined"))
    assert texts[position + 1] == "We can help. Where?"

    # While the volunteer holds it, the worker's words go to the console, not the bot.
    await worker.say("I am at the factory <b>near</b> the river")
    page = await (await client.get(f"/console/cases/{case_id}")).text()
    assert "I am at the factory &lt;b&gt;near&lt;/b&gt; the river" in page
    assert (await outbox_texts(client))[-1][2][0].text == "We can help. Where?"  # bot silent

    response = await post(client, f"/console/cases/{case_id}/close", outcome="referred")
    assert response.status == 303
    async with services.db() as session:
        case = await session.get(Case, case_id)
        conversation = await session.get(Conversation, case.conversation_id)
        assert case.status == "closed" and case.outcome == "referred"
        assert conversation.handler == "bot"
    assert (await outbox_texts(client))[-1][2][0].text == services.content.ui("en", "human_left")

    await worker.say("hello")
    sender, key, replies = (await outbox_texts(client))[-1]
    assert sender == "bot" and key.startswith("in:") and replies

    async with services.db() as session:
        actions = set(
            (
                await session.execute(
                    select(AuditEvent.action).where(AuditEvent.target == f"case:{case_id}")
                )
            ).scalars()
        )
    assert {"case_opened", "view_case", "case_claimed", "reply_sent", "case_closed"} <= actions


async def test_worker_message_with_script_is_escaped(client, world: World) -> None:
    services = services_of(client)
    case_id = await make_case(
        services, world.org_a, texts=('<script>alert("x")</script> & <img src=x onerror=1>',)
    )
    assert await login(client, "vol.a@example.org")
    page = await (await client.get(f"/console/cases/{case_id}")).text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x" in page
    # Notes too.
    await post(client, f"/console/cases/{case_id}/note", text="<script>bad()</script>")
    page = await (await client.get(f"/console/cases/{case_id}")).text()
    assert "<script>bad()" not in page and "&lt;script&gt;bad()&lt;/script&gt;" in page


async def test_second_claim_loses(client, world: World) -> None:
    assert await login(client, "vol.a@example.org")
    assert (await post(client, f"/console/cases/{world.case_a}/claim")).status == 303
    assert await login(client, "vol2.a@example.org")
    response = await post(client, f"/console/cases/{world.case_a}/claim")
    assert response.headers["Location"].endswith("error=error_already_claimed")


async def test_closing_erases_a_contact_who_asked(client, world: World) -> None:
    services = services_of(client)
    async with services.db.begin() as session:
        case = await session.get(Case, world.case_a)
        contact = await session.get(Contact, case.contact_id)
        contact.erase_requested_at = contact.created_at
        contact_id = contact.id
    assert await login(client, "vol.a@example.org")
    page = await (await client.get(f"/console/cases/{world.case_a}")).text()
    assert "It is deleted when this case is closed" in page
    await post(client, f"/console/cases/{world.case_a}/claim")
    await post(client, f"/console/cases/{world.case_a}/close", outcome="resolved")
    async with services.db() as session:
        assert await session.get(Contact, contact_id) is None
        case = await session.get(Case, world.case_a)
        assert case.status == "closed" and case.contact_id is None
        # The goodbye still goes out: its row carries its own address.
        row = (
            (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())))
            .scalars()
            .first()
        )
        assert row.idempotency_key == f"vol:{world.case_a}:closed" and row.contact_id is None


async def test_notes_category_and_release(client, world: World) -> None:
    services = services_of(client)
    assert await login(client, "vol.a@example.org")
    await post(client, f"/console/cases/{world.case_a}/note", text="called the shelter")
    await post(client, f"/console/cases/{world.case_a}/category", category="wage_unpaid")
    await post(client, f"/console/cases/{world.case_a}/claim")
    await post(client, f"/console/cases/{world.case_a}/release")
    bad = await post(client, f"/console/cases/{world.case_a}/category", category="nope")
    assert bad.headers["Location"].endswith("error=error_bad_category")
    async with services.db() as session:
        case = await session.get(Case, world.case_a)
        assert case.category == "wage_unpaid" and case.status == "open"
        from bot.storage.models import CaseNote

        note = await session.scalar(select(CaseNote))
        assert note.text_enc != b"called the shelter"
        assert services.vault.decrypt_text(note.text_enc) == "called the shelter"
    page = await (await client.get(f"/console/cases/{world.case_a}")).text()
    assert "called the shelter" in page


async def test_reply_needs_a_claim(client, world: World) -> None:
    assert await login(client, "vol.a@example.org")
    response = await post(client, f"/console/cases/{world.case_a}/reply", text="hi")
    assert response.headers["Location"].endswith("error=error_claim_first")
