"""`bot classify`: the live normalisation, language, NLU and urgency rules over JSON lines."""

from __future__ import annotations

import json
from typing import TextIO

from bot.config import Settings
from bot.content import Content
from bot.runtime import build_classifier
from bot.urgency import urgent_intent
from nlu.keywords import KeywordClassifier
from nlu.language import detect_language
from nlu.normalize import has_words, normalize
from nlu.types import IntentClassifier


async def classify_one(
    settings: Settings,
    content: Content,
    keywords: KeywordClassifier,
    classifier: IntentClassifier,
    text: str,
) -> dict[str, object]:
    normalized = normalize(text, settings.max_text_chars, settings.zawgyi_threshold)
    language = detect_language(normalized.text, None).language
    source = None
    if not has_words(normalized.text):
        intent, confidence, ranking = "menu", 1.0, (("menu", 1.0),)
    else:
        prediction = await classifier.classify(normalized.text, language)
        intent, confidence, source = prediction.intent, prediction.confidence, prediction.source
        ranking = prediction.ranking or ((intent, confidence),)
    threshold = settings.urgent_threshold_for(source)
    urgent = urgent_intent(
        content.is_urgent, keywords, ranking, normalized.text, language, threshold
    )
    return {
        "text": text,
        "normalized": normalized.text,
        "language": language,
        "intent": urgent or intent,
        "confidence": round(confidence, 4),
        "urgent": urgent is not None,
    }


async def classify_lines(settings: Settings, source: TextIO, sink: TextIO) -> None:
    content = Content(settings.content_dir)
    keywords = KeywordClassifier.from_content(content.root)
    classifier = build_classifier(settings, keywords)
    try:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                text = json.loads(line)["text"]
                if not isinstance(text, str):
                    raise TypeError
            except (json.JSONDecodeError, KeyError, TypeError):
                sink.write(json.dumps({"error": f'line {number}: expected {{"text": string}}'}))
                sink.write("\n")
                continue
            result = await classify_one(settings, content, keywords, classifier, text)
            sink.write(json.dumps(result, ensure_ascii=False) + "\n")
            sink.flush()
    finally:
        close = getattr(classifier, "close", None)
        if close is not None:
            await close()
