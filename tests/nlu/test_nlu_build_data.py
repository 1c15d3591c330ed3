from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from nlu.build_data import build, main
from nlu.rasa_env import CONFIG

FIXTURES = Path(__file__).parent / "fixtures" / "content"


def test_build_writes_rasa_nlu_yaml_and_hash(tmp_path: Path) -> None:
    built = build(FIXTURES, tmp_path / "out", CONFIG)
    data = yaml.safe_load(built.path.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    intents = {item["intent"]: item["examples"] for item in data["nlu"]}
    assert set(intents) >= {"wage_unpaid", "urgent_violence", "menu"}
    assert "- นายจ้างยึดพาสปอร์ตของฉัน" in intents["documents_retained"]
    assert "- သူဌေးက ကျွန်တော့်ကို ရိုက်နေတယ်" in intents["urgent_violence"]
    assert built.languages == ("en", "th", "my", "km", "lo")
    assert (tmp_path / "out" / "hash.txt").read_text().strip() == built.hash


def test_hash_follows_content(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(FIXTURES, content)
    first = build(content, tmp_path / "a", CONFIG).hash
    assert build(content, tmp_path / "b", CONFIG).hash == first
    path = content / "th" / "examples.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edit\n", encoding="utf-8")
    assert build(content, tmp_path / "c", CONFIG).hash != first


def test_conflicting_examples_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "examples.yml").write_text(
        "language: en\nintents:\n  greet: [hello, hi]\n  thanks: [Hello, thanks]\n",
        encoding="utf-8",
    )
    built = build(tmp_path, tmp_path / "out", CONFIG)
    data = yaml.safe_load(built.path.read_text())
    intents = {item["intent"]: item["examples"] for item in data["nlu"]}
    assert intents == {"greet": "- hi\n", "thanks": "- thanks\n"}


def test_cli(tmp_path: Path, capsys) -> None:
    main(["--content", str(FIXTURES), "--out", str(tmp_path)])
    assert (tmp_path / "nlu.yml").is_file()
    assert "languages=en,th,my,km,lo" in capsys.readouterr().out
