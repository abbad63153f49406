"""The lead-message model: features, training and the saved artefact.

Intent and act are two linear classifiers over the same features: character n-grams (robust
to typos, Hinglish spellings and Devanagari), word n-grams, and a few signal tokens the guide's
rules name (a stated budget, urgency, a request for an invoice or a slot, an opt-out). The
intent classifier is calibrated (Platt scaling, cross-validated) so its confidence means what
it says. Everything runs on one CPU core with no network.
"""

import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import joblib
from django.conf import settings
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from agents.nlu.budget import extract_budget
from agents.nlu.corpus import Corpus, Example

MODEL_NAME = "lead-nlu"
# Bump when features or training change, so a new artefact never reuses an old version.
FEATURES_VERSION = 1

_SIGNALS = [
    ("sig_urgent", re.compile(
        r"\b(today|tonight|tomorrow|tmrw|tmr|asap|urgent|urgently|right away|immediately|now|"
        r"this week|this weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
        r"aaj|abhi|kal|turant|jaldi|is hafte|isi hafte|parso|end of (the )?day|eod|by \d)"
        r"|आज|कल|अभी|तुरंत")),
    ("sig_payment", re.compile(
        r"\b(invoice|payment link|pay now|payment|pay|paying|contract|quote|quotation|"
        r"proforma|upi|gst bill|sign|signed|advance|bill bhejo|bill bhej|order confirm)"
        r"|भुगतान|इनवॉइस")),
    ("sig_slot", re.compile(
        r"\b(book|booking|schedule|slot|appointment|demo|meeting|meet|visit|call me|"
        r"site visit)\b|बुक|डेमो|मीटिंग")),
    ("sig_optout", re.compile(
        r"\b(stop|unsubscribe|remove me|don'?t (message|contact|text|call)|do not (message|"
        r"contact|text|call)|band karo|mat bhejo|mat karo|mat bhejna|block)\b|बंद|मत भेज")),
    ("sig_later", re.compile(
        r"\b(later|next (month|quarter|year)|few (weeks|months)|baad mein|baad me|agle|"
        r"not now|abhi nahi|abhi nhi|someday|sometime|soch)\b|बाद में|अगले")),
    ("sig_approval", re.compile(
        r"\b(approval|approve|sign-?off|boss|management|cfo|ceo|director|committee|partner"
        r"|team se|discuss)\b")),
    ("sig_negative", re.compile(
        r"\b(not interested|no thanks|no budget|wrong number|who is this|spam|nahi chahiye|"
        r"nhi chahiye|mat|never|expensive|mehenga|mehnga|costly)\b|नहीं चाहिए|महंगा")),
    ("sig_question", re.compile(r"\?|\b(kya|kaise|kitna|kitne|how|what|which|does|do you|can)\b")),
    ("sig_price", re.compile(
        r"\b(price|pricing|cost|rate|rates|charges|fees|fee|kitna|kitne ka|plans?|package|"
        r"discount|quote)\b|कीमत|दाम")),
]


def signal_text(text: str) -> str:
    """The message with the rule signals appended as tokens the word features can weigh."""
    lowered = text.lower()
    tokens = [name for name, pattern in _SIGNALS if pattern.search(lowered)]
    if extract_budget(text) is not None:
        tokens.append("sig_budget")
    if len(lowered.split()) <= 2:
        tokens.append("sig_short")
    return f"{lowered} {' '.join(tokens)}"


def _features() -> FeatureUnion:
    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                  sublinear_tf=True, max_features=60_000)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1,
                                  sublinear_tf=True,
                                  token_pattern=r"(?u)\b\w+\b",  # noqa: S106 (a regex, not a secret)
                                  max_features=40_000)),
    ])


@dataclass(frozen=True)
class TrainingConfig:
    intent_c: float = 8.0
    act_c: float = 8.0
    calibration_folds: int = 5


def train(examples: list[Example], config: TrainingConfig = TrainingConfig()) -> dict:
    """Fit the shared features and both classifiers; returns the artefact (a plain dict)."""
    texts = [signal_text(example.text) for example in examples]
    features = _features()
    matrix = features.fit_transform(texts)
    intent = CalibratedClassifierCV(
        LogisticRegression(C=config.intent_c, max_iter=4000, class_weight="balanced"),
        method="sigmoid", cv=config.calibration_folds,
    )
    intent.fit(matrix, [example.intent for example in examples])
    act = LogisticRegression(C=config.act_c, max_iter=4000, class_weight="balanced")
    act.fit(matrix, [example.act or "other" for example in examples])
    return {"features": features, "intent": intent, "act": act}


def predict(artefact: dict, texts: list[str]) -> list[tuple[str, float, str]]:
    """``(intent, its calibrated probability, act)`` for each text."""
    matrix = artefact["features"].transform([signal_text(text) for text in texts])
    probabilities = artefact["intent"].predict_proba(matrix)
    classes = list(artefact["intent"].classes_)
    acts = artefact["act"].predict(matrix)
    results = []
    for row, act in zip(probabilities, acts, strict=True):
        best = int(row.argmax())
        results.append((classes[best], float(row[best]), str(act)))
    return results


def artefact_bytes(artefact: dict) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(artefact, buffer, compress=3)
    return buffer.getvalue()


def model_dir() -> Path:
    return Path(settings.NLU_MODEL_DIR)


def artefact_path(version: str) -> Path:
    return model_dir() / f"{MODEL_NAME}-{version}.joblib"


def version_for(corpus: Corpus, config: TrainingConfig) -> str:
    recipe = json.dumps([corpus.sha256, FEATURES_VERSION, config.__dict__], sort_keys=True)
    return f"v{FEATURES_VERSION}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def save(version: str, artefact: dict, metrics: dict) -> str:
    """Write the artefact and the pointer to it; returns the artefact's SHA-256."""
    directory = model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    data = artefact_bytes(artefact)
    digest = hashlib.sha256(data).hexdigest()
    path = artefact_path(version)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    latest = {"name": MODEL_NAME, "version": version, "sha256": digest, "metrics": metrics}
    pointer = directory / "latest.json"
    pointer.with_suffix(".tmp").write_text(json.dumps(latest, indent=2))
    pointer.with_suffix(".tmp").replace(pointer)
    return digest


def latest_on_disk() -> dict | None:
    pointer = model_dir() / "latest.json"
    if not pointer.exists():
        return None
    return json.loads(pointer.read_text())


class ArtefactMissing(RuntimeError):
    pass


def load(version: str, sha256: str) -> dict:
    path = artefact_path(version)
    if not path.exists():
        raise ArtefactMissing(f"The NLU model {version} is not in {model_dir()}; run "
                              "`python manage.py train_nlu`.")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArtefactMissing(f"{path.name} does not match its registered checksum; retrain "
                              "with `python manage.py train_nlu`.")
    return joblib.load(io.BytesIO(data))
