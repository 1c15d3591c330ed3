"""The tokenizer loads every segmenter when Rasa loads a model; run in the Rasa venv."""

from __future__ import annotations

from nlu.rasa.components import segment
from nlu.rasa.components.multiscript_tokenizer import MultiScriptTokenizer

LOADERS = (segment._thai, segment._lao, segment._khmer)


def test_creating_the_tokenizer_loads_every_segmenter() -> None:
    for loader in LOADERS:
        loader.cache_clear()
    config = MultiScriptTokenizer.get_default_config()
    MultiScriptTokenizer.create(config, None, None, None)  # type: ignore[arg-type]
    assert [loader.cache_info().currsize for loader in LOADERS] == [1, 1, 1]
