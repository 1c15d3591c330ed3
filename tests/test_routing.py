"""Routing is data (content/routing.yml) and tested as a table."""

from __future__ import annotations

import pytest

from bot.config import ROOT
from bot.content import Content
from bot.routing import Candidate, Need, load_rules, route

RULES = load_rules(ROOT / "content" / "routing.yml")

ORGS = [
    Candidate("tak_legal", "Tak Legal", ("tak",), ("my", "th"), ("all",), ("legal_aid",)),
    Candidate("tak_shelter", "Tak Shelter", ("tak",), ("my",), ("all",), ("shelter",)),
    Candidate("sea", "Sea Rights", ("phang_nga",), ("my", "km"), ("fishing",), ("legal_aid",)),
    Candidate(
        "national",
        "National Line",
        ("national",),
        ("my", "km", "lo", "th"),
        ("all",),
        ("labour_complaints",),
    ),
    Candidate(
        "closed", "Closed Org", ("bangkok",), ("lo",), ("all",), ("legal_aid",), accepting=False
    ),
]


@pytest.mark.parametrize(
    ("province", "language", "sector", "services", "expected"),
    [
        ("tak", "my", None, ("legal_aid",), "tak_legal"),
        ("tak", "my", None, ("shelter",), "tak_shelter"),
        ("phang_nga", "km", "fishing", ("legal_aid",), "sea"),
        # no local organisation: the national one takes it
        ("sa_kaeo", "km", "agriculture", ("legal_aid",), "national"),
        # the only Lao-speaking local organisation is not accepting cases
        ("bangkok", "lo", None, ("legal_aid",), "national"),
        # nothing known about the worker: still routed, never dropped
        (None, None, None, ("legal_aid",), "national"),
    ],
)
def test_routing_table(province, language, sector, services, expected) -> None:  # type: ignore[no-untyped-def]
    chosen = route(RULES, ORGS, Need(province, language, sector, services))
    assert chosen is not None and chosen.slug == expected


def test_ties_go_to_the_organisation_with_fewer_open_cases() -> None:
    busy = Candidate("a", "A", ("tak",), ("my",), ("all",), ("legal_aid",), open_cases=9)
    free = Candidate("b", "B", ("tak",), ("my",), ("all",), ("legal_aid",), open_cases=1)
    assert route(RULES, [busy, free], Need("tak", "my", None, ("legal_aid",))).slug == "b"


def test_no_candidate_gives_none() -> None:
    assert route(RULES, [], Need("tak", "my", None, ("legal_aid",))) is None


def test_every_target_province_routes_somewhere_with_the_real_directory() -> None:
    content = Content(ROOT / "content")
    orgs = [
        Candidate(
            slug,
            o["name"],
            tuple(o["provinces"]),
            tuple(o["languages"]),
            tuple(o["sectors"]),
            tuple(o["services"]),
        )
        for slug, o in content.organisations.items()
    ]
    for province in (
        "bangkok",
        "chiang_rai",
        "sa_kaeo",
        "phuket",
        "phang_nga",
        "tak",
        "phitsanulok",
    ):
        for language in ("my", "km", "lo", "th", "en"):
            assert route(RULES, orgs, Need(province, language, None, ("legal_aid",)))
