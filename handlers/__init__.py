"""Handlers turn a conversation turn into replies; importing this package registers them."""

from handlers import (
    answers,
    dialog,
    escalation,
    language,
    menus,
    onboarding,
    privacy,
    structured_flows,
    subscriptions,
)

__all__ = [
    "answers",
    "dialog",
    "escalation",
    "language",
    "menus",
    "onboarding",
    "privacy",
    "structured_flows",
    "subscriptions",
]
