"""Choosing the organisation for a case: pure scoring over data (content/routing.yml)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.yamlio import load_yaml


@dataclass(frozen=True, slots=True)
class Need:
    province: str | None
    language: str | None
    sector: str | None
    services: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Candidate:
    slug: str
    name: str
    provinces: tuple[str, ...]
    languages: tuple[str, ...]
    sectors: tuple[str, ...]
    services: tuple[str, ...]
    accepting: bool = True
    open_cases: int = 0


def load_rules(path: Path) -> dict[str, Any]:
    return load_yaml(path)


def score(rules: Mapping[str, Any], org: Candidate, need: Need) -> int:
    weights = rules["weights"]
    total = 0
    if need.province and need.province in org.provinces:
        total += weights["province"]
    elif "national" in org.provinces:
        total += weights["national_province"]
    if need.language and need.language in org.languages:
        total += weights["language"]
    if need.sector and (need.sector in org.sectors or "all" in org.sectors):
        total += weights["sector"]
    if set(need.services) & set(org.services):
        total += weights["service"]
    return total


def route(rules: Mapping[str, Any], orgs: Iterable[Candidate], need: Need) -> Candidate | None:
    scored = [(score(rules, org, need), org) for org in orgs if org.accepting]
    eligible = [(s, org) for s, org in scored if s >= rules["min_score"]]
    if not eligible:
        # A case is never dropped for want of a good match: a national organisation takes it.
        eligible = [(s, org) for s, org in scored if "national" in org.provinces]
    if not eligible:
        return None
    eligible.sort(key=lambda pair: (-pair[0], pair[1].open_cases, pair[1].name))
    return eligible[0][1]
