"""Rasa 3 intent classifier: TF-IDF word and character n-grams into a linear SVM.

Referenced in nlu/rasa/config.yml as
``nlu.rasa.components.linear_classifier.LinearIntentClassifier``, after the
``MultiScriptTokenizer``. It featurizes the tokens itself instead of using Rasa's
``CountVectorsFeaturizer``, whose word analyzer re-splits every token with ``\\b\\w+\\b``:
combining marks are not ``\\w``, so a Thai, Lao, Khmer or Burmese word falls apart at each
vowel or tone mark ("ถูกตี" becomes "ถ", "กต"). Measured against DIET on the same data in
docs/nlu-report.md: more accurate on every language, and trained in seconds, not minutes.

Confidences are a softmax over the SVM's decision values, scaled by a temperature fitted
on a fifth of the training examples held out (temperature scaling, Guo et al. 2017), so
they track how often the top intent is right and the bot's thresholds
(nlu.info_threshold, nlu.urgent_threshold) keep their meaning.
The model is stored as JSON and NumPy arrays (no pickle: a model file is data, not code).
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

MODEL_FILE = "linear_intent_classifier.npz"
HELD_OUT_SHARE = 0.2
TEMPERATURES = tuple(float(t) for t in np.arange(1.0, 30.5, 0.5))
DEFAULT_TEMPERATURE = 10.0
VOCABULARY_FILE = "linear_intent_classifier.json"


def words_and_bigrams(tokens: list[str]) -> list[str]:
    return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    scaled = scores * temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


class Features:
    """Word uni/bigrams over the tokens as segmented, and character n-grams inside tokens."""

    def __init__(self, char_ngrams: tuple[int, int]) -> None:
        self.char_ngrams = char_ngrams
        self.words = TfidfVectorizer(analyzer=words_and_bigrams, sublinear_tf=True)
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=char_ngrams, sublinear_tf=True, lowercase=False
        )

    def fit_transform(self, docs: list[list[str]]) -> scipy.sparse.csr_matrix:
        return scipy.sparse.hstack(
            [self.words.fit_transform(docs), self.chars.fit_transform(map(" ".join, docs))]
        ).tocsr()

    def transform(self, docs: list[list[str]]) -> scipy.sparse.csr_matrix:
        return scipy.sparse.hstack(
            [self.words.transform(docs), self.chars.transform(map(" ".join, docs))]
        ).tocsr()

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        vocab = {"words": self.words.vocabulary_, "chars": self.chars.vocabulary_}
        return vocab, {"words_idf": self.words.idf_, "chars_idf": self.chars.idf_}

    def restore(self, vocab: dict[str, Any], arrays: Any) -> None:
        for name, vectorizer in (("words", self.words), ("chars", self.chars)):
            vectorizer.vocabulary_ = {k: int(v) for k, v in vocab[name].items()}
            vectorizer.idf_ = arrays[f"{name}_idf"]


def message_tokens(message: Message) -> list[str]:
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    return [token.text.casefold() for token in tokens]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 1.0, "char_min_ngram": 2, "char_max_ngram": 5, "random_seed": 42}

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        features: Features | None = None,
        weights: tuple[np.ndarray, np.ndarray, list[str]] | None = None,
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.features = features or Features((config["char_min_ngram"], config["char_max_ngram"]))
        self.weights = weights  # (coef, intercept, intents) once trained
        self.temperature = DEFAULT_TEMPERATURE

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if message_tokens(m)]
        intents = sorted({m.get(INTENT) for m in examples})
        if len(intents) < 2:
            return self._resource  # nothing to separate: predict nothing, as Rasa's do
        docs = [message_tokens(m) for m in examples]
        y = np.array([intents.index(m.get(INTENT)) for m in examples])
        self.temperature = self._fit_temperature(docs, y)
        svm = LinearSVC(C=self.config["C"]).fit(self.features.fit_transform(docs), y)
        self.weights = (svm.coef_.astype(np.float32), svm.intercept_.astype(np.float32), intents)
        self.persist()
        return self._resource

    def _fit_temperature(self, docs: list[list[str]], y: np.ndarray) -> float:
        """The temperature that minimises the log loss on held-out training examples."""
        rng = np.random.default_rng(self.config["random_seed"])
        held_out = rng.random(len(docs)) < HELD_OUT_SHARE
        if len(set(y[~held_out])) < len(set(y)):
            return DEFAULT_TEMPERATURE  # too few examples to hold any out
        features = Features(self.features.char_ngrams)
        train = [d for d, h in zip(docs, held_out, strict=True) if not h]
        svm = LinearSVC(C=self.config["C"]).fit(features.fit_transform(train), y[~held_out])
        scores = svm.decision_function(
            features.transform([d for d, h in zip(docs, held_out, strict=True) if h])
        )
        gold = np.searchsorted(svm.classes_, y[held_out])

        def log_loss(t: float) -> float:
            p = softmax(scores, t)[np.arange(len(gold)), gold]
            return float(-np.log(np.maximum(p, 1e-12)).mean())

        return min(TEMPERATURES, key=log_loss)

    def persist(self) -> None:
        if self.weights is None:
            return
        coef, intercept, intents = self.weights
        vocab, arrays = self.features.state()
        with self._model_storage.write_to(self._resource) as folder:
            (folder / VOCABULARY_FILE).write_text(
                json.dumps({"intents": intents, **vocab}, ensure_ascii=False)
            )
            np.savez_compressed(
                folder / MODEL_FILE,
                coef=coef,
                intercept=intercept,
                temperature=np.float32(self.temperature),
                **arrays,
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as folder:
                vocab = json.loads((folder / VOCABULARY_FILE).read_text())
                with np.load(folder / MODEL_FILE, allow_pickle=False) as arrays:
                    component.features.restore(vocab, arrays)
                    component.weights = (arrays["coef"], arrays["intercept"], vocab["intents"])
                    component.temperature = float(arrays["temperature"])
        except (ValueError, FileNotFoundError):
            pass  # untrained (fewer than two intents): predicts nothing
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            tokens = message_tokens(message)
            intent: dict[str, Any] | None = None
            ranking: list[dict[str, Any]] = []
            if self.weights is not None and tokens:
                coef, intercept, intents = self.weights
                scores = self.features.transform([tokens]) @ coef.T + intercept
                probabilities = softmax(np.asarray(scores)[0], self.temperature)
                order = np.argsort(-probabilities)[:LABEL_RANKING_LENGTH]
                ranking = [
                    {"name": intents[i], "confidence": float(probabilities[i])} for i in order
                ]
                intent = ranking[0]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
