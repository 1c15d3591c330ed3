from __future__ import annotations

from bot.crypto import Vault, new_key, pseudonym


def test_round_trip_and_key_rotation() -> None:
    old, new = new_key(), new_key()
    token = Vault((old,)).encrypt_text("ငါ့ကို ရိုက်တယ်")
    rotated_vault = Vault((new, old))
    assert rotated_vault.decrypt_text(token) == "ငါ့ကို ရိုက်တယ်"
    rotated = rotated_vault.rotate(token)
    assert Vault((new,)).decrypt_text(rotated) == "ငါ့ကို ရိုက်တယ်"


def test_pseudonyms_are_keyed_and_per_platform() -> None:
    assert pseudonym(b"k1", "line", "U1") != pseudonym(b"k2", "line", "U1")
    assert pseudonym(b"k1", "line", "U1") != pseudonym(b"k1", "telegram", "U1")
    assert "U1" not in pseudonym(b"k1", "line", "U1")
