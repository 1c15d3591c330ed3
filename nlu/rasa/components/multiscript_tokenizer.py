"""Rasa 3 tokenizer for mixed en/th/my/km/lo text: each script run by its own segmenter.

Referenced in nlu/rasa/config.yml as
``nlu.rasa.components.multiscript_tokenizer.MultiScriptTokenizer``; the repository root
must be on PYTHONPATH when Rasa trains or serves (nlu.train and nlu.serve set it).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from nlu.rasa.components.segment import segment, warm_up


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MultiScriptTokenizer(Tokenizer):
    """Segments Thai, Lao, Khmer, Myanmar-script and Latin runs separately."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def required_packages() -> list[str]:
        # Rasa checks these both as import names and as distribution names; khmer-nltk
        # (imported as khmernltk) cannot pass both, and its version is pinned in
        # nlu/requirements-rasa.txt, which is part of the model hash.
        return ["pythainlp", "laonlp"]

    @staticmethod
    def supported_languages() -> list[str] | None:
        return None  # any: the script decides

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultiScriptTokenizer:
        # Rasa creates the tokenizer when it loads a model, before the server answers.
        warm_up()
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = [Token(word, start) for word, start in segment(text)]
        if not tokens and text.strip():
            # Only emoji or punctuation: keep one token so featurizers see something.
            stripped = text.strip()
            tokens = [Token(stripped, text.index(stripped))]
        return self._apply_token_pattern(tokens)
