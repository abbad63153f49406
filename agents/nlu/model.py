"""The lead-message model: features, training (with the classifier chosen by cross-validation)
and the compiled artefact that serves it.

Intent and act are linear classifiers over the same features: character n-grams (robust to
typos, Hinglish spellings and Devanagari), word n-grams, and signal tokens for what the guide's
rules name (a stated budget, urgency, a request for an invoice or a slot, an opt-out). Intent
has a second stage that reads the first stage's scores with the signals and their pairs, since
the guide's rules combine them ("a budget together with urgency"); its confidence is calibrated
by temperature scaling on out-of-fold scores.

Serving does not go through scikit-learn: the fitted vocabularies, idf weights and
coefficients are compiled into plain arrays, so one message costs a few dictionary look-ups
and one small dot product (well under a millisecond on one core).
"""

import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import joblib
import numpy as np
from django.conf import settings
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from agents.nlu.corpus import Corpus, Example
from agents.nlu.rules import extract_budget

MODEL_NAME = "lead-nlu"
# Bump when features or training change, so a new artefact never reuses an old version.
FEATURES_VERSION = 5
STACK_C = 1.0

_SIGNALS = [
    ("sig_urgent", re.compile(
        r"\b(today|tonight|tomorrow|tmrw|tmr|asap|urgent|urgently|right now|right away|"
        r"immediately|this week|this weekend|next week|monday|tuesday|wednesday|thursday|"
        r"friday|saturday|sunday|aaj|abhi|kal|turant|jaldi|is hafte|isi hafte|agle hafte|"
        r"parso|end of (the )?day|eod|by \d|before the \d|on the \d+(st|nd|rd|th)|"
        r"in \d+ (hours|days|din)|within \d+ (hours|days)|\d+ din mein|ready to pay)\b"
        r"|आज|कल|तुरंत|इसी हफ्ते|इस हफ्ते|जल्दी|अभी|परसों|सोमवार|मंगलवार|बुधवार|गुरुवार|"
        r"शुक्रवार|शनिवार|रविवार")),
    ("sig_payment", re.compile(
        r"\b(invoice|payment link|pay now|payment|pay|paying|paid|contract|agreement|quote|"
        r"quotation|proforma|upi|gst bill|bill bhejo|bill bhej|receipt|advance|token amount|"
        r"sign|signed|order confirm|confirm order|final kar|link (bhejo|bhej|bhejiye|to pay|"
        r"send)|pay link|paise bhej|paisa bhej|daal diye|transfer kar|transferred|rasid|raseed)"
        r"|भुगतान|इनवॉइस|कोटेशन|पेमेंट|बिल|पैसे भेज|रसीद")),
    ("sig_slot", re.compile(
        r"\b(book|booking|schedule|slot|appointment|demo|meeting|meet|visit|site visit|"
        r"available|availability|free ho|milte)\b|बुक|डेमो|मीटिंग|अपॉइंटमेंट")),
    ("sig_person", re.compile(
        r"\b(call me|call back|callback|ring me|talk to|speak to|baat karao|baat karwao|"
        r"human|real person|agent se|someone from|manager se|phone karo|call karo|"
        r"call kar)\b|बात कराओ|कॉल कर")),
    ("sig_optout", re.compile(
        r"\b(stop|unsubscribe|remove me|remove my|don'?t (message|contact|text|call|send)|"
        r"do not (message|contact|text|call|send)|band karo|bnd karo|mat bhejo|mat karo|"
        r"mat bhejna|block|opt out|optout)\b|बंद|मत भेज|परेशान मत")),
    ("sig_month_later", re.compile(
        r"\b(next (month|quarter)|few (weeks|months)|(in|after|within) \d+ ?-? ?\d* "
        r"(months|weeks)|\d+ ?-? ?\d* (mahine|months|weeks) (mein|me|baad|later|time)|"
        r"agle mahine|agle quarter|baad mein|baad me|after diwali|soch|sochte|sochenge|"
        r"dekhte hain|dekhenge)\b|अगले महीने|बाद में")),
    ("sig_far", re.compile(
        r"\b(next year|agle saal|saal (ke )?end|year end|someday|some day|sometime|"
        r"no idea when|couple of years|year or two|\d+ ?-? ?\d* saal|not now|abhi nahi|"
        r"abhi nhi|maybe later|later|plan (abhi )?nahi|no plans?|kabhi|kabhi bhi)\b"
        r"|अगले साल|अभी नहीं|कभी")),
    ("sig_vendor", re.compile(
        r"\b(hiring|job|vacancy|resume|cv|we offer|offering|we make|we sell|selling|lottery|"
        r"otp|congrats|congratulations|guest post|backlinks|seo services|our services|"
        r"partnership|collab|collaboration|ghar baithe|kamaaye|kamao|earn|payout|"
        r"work from home|work-from-home|register now|register today|catalogue|catalog|"
        r"loan chahiye kya|per day income)\b")),
    ("sig_research", re.compile(
        r"\b(survey|dissertation|thesis|research|study|studying|assignment|college project|"
        r"school project|student|curious|just curious|for a friend)\b|शोध")),
    ("sig_complaint", re.compile(
        r"\b(complaint|scam|fraud|pathetic|worst|ticket|still not|not working|refund|"
        r"cheated|disappointed|skeptical|burned)\b|शिकायत")),
    ("sig_approval", re.compile(
        r"\b(approval|approve|approved|sign-?off|boss|management|cfo|ceo|director|"
        r"committee|partner|team se|discuss|puchna|poochna)\b")),
    ("sig_negative", re.compile(
        r"\b(not interested|no thanks|no budget|wrong number|who is this|who are you|spam|"
        r"nahi chahiye|nhi chahiye|never|expensive|mehenga|mehnga|costly|cancel|cancelled|"
        r"won'?t|wouldn'?t|not needed|kon ho|kaun ho|ye kon|research|thesis|student|"
        r"project work|assignment|rehne do|rehne dijiye|nahi chalega|nhi chalega|zyada|"
        r"too much|too high|otherwise no|forget it)\b|नहीं चाहिए|महंगा|कौन|रहने दीजिए|"
        r"नहीं चलेगा|ज़्यादा|ज्यादा")),
    ("sig_question", re.compile(
        r"\?|\b(kya|kaise|kitna|kitne|how|what|which|does|do you|can you|is there)\b|क्या|कैसे")),
    ("sig_price", re.compile(
        r"\b(price|prices|pricing|cost|costs|rate|rates|charges|charge|fees|fee|kitna|"
        r"kitne ka|plans?|package|discount|offer|emi|trial)\b|कीमत|दाम|रेट|फीस|चार्ज")),
    ("sig_greeting", re.compile(
        r"^\W*(hi+|hello+|hey+|namaste|namaskar|good (morning|evening|afternoon)|"
        r"hii+|helo|नमस्ते|नमस्कार)\W*$")),
]

_WORD = re.compile(r"(?u)\b\w+\b")
_SPACES = re.compile(r"\s+")


def signal_tokens(text: str) -> list[str]:
    lowered = text.lower()
    tokens = [name for name, pattern in _SIGNALS if pattern.search(lowered)]
    if extract_budget(text) is not None:
        tokens.append("sig_budget")
    if len(lowered.split()) <= 2:
        tokens.append("sig_short")
    return tokens


def char_ngrams(text: str) -> list[str]:
    """Character 2- to 5-grams inside word boundaries (spaces pad each word)."""
    grams = []
    for word in _SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for size in range(2, 6):
            if size > len(padded):
                break
            grams.extend(padded[i:i + size] for i in range(len(padded) - size + 1))
    return grams


def word_ngrams(text: str) -> list[str]:
    """Words and word pairs, plus the signal tokens."""
    words = _WORD.findall(text.lower())
    grams = [*words, *(f"{a} {b}" for a, b in pairwise(words))]
    return grams + signal_tokens(text)


ANALYZERS = {"chars": char_ngrams, "words": word_ngrams}
SIGNAL_NAMES = [name for name, _ in _SIGNALS] + ["sig_budget", "sig_short"]


def stack_features(base_scores: np.ndarray, signals: np.ndarray) -> np.ndarray:
    """What the second stage reads: the text classifier's scores, each signal, and each pair
    of signals together (a budget *and* urgency is not the sum of the two)."""
    pairs = [signals[:, i] * signals[:, j]
             for i in range(signals.shape[1]) for j in range(i + 1, signals.shape[1])]
    return np.hstack([base_scores, signals, np.column_stack(pairs)])


def signal_matrix(texts: list[str]) -> np.ndarray:
    rows = []
    for text in texts:
        present = set(signal_tokens(text))
        rows.append([name in present for name in SIGNAL_NAMES])
    return np.asarray(rows, dtype=np.float64)


@dataclass(frozen=True)
class TrainingConfig:
    candidates: tuple = (("logistic", 10.0), ("logistic", 30.0), ("svm", 0.5), ("svm", 1.0))
    folds: int = 5
    seed: int = 0


@dataclass
class LinearHead:
    """A compiled linear classifier: scores = W·x + b, probabilities softmax(scores / T)."""

    classes: list[str]
    weights: np.ndarray  # (classes, features)
    intercept: np.ndarray
    temperature: float = 1.0


@dataclass
class CompiledModel:
    vocabularies: dict  # part -> {gram: column}
    idf: dict  # part -> array
    offsets: dict  # part -> first column
    intent: LinearHead  # first stage: text features -> intent scores
    stack: LinearHead  # second stage: scores and signals -> calibrated intent
    act: LinearHead
    chosen: dict = field(default_factory=dict)  # which classifier won, and its CV figures

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse TF-IDF (sublinear, L2-normalised per part), as (columns, values)."""
        columns, values = [], []
        for part, analyzer in ANALYZERS.items():
            vocabulary = self.vocabularies[part]
            counts = Counter(vocabulary[g] for g in analyzer(text) if g in vocabulary)
            if not counts:
                continue
            index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weight = (1.0 + np.log(tf)) * self.idf[part][index]
            weight /= np.linalg.norm(weight)
            columns.append(index + self.offsets[part])
            values.append(weight)
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(columns), np.concatenate(values)

    @staticmethod
    def _scores(head: LinearHead, columns, values) -> np.ndarray:
        return head.weights[:, columns] @ values + head.intercept

    def predict(self, text: str) -> tuple[str, float, str]:
        """(intent, its calibrated probability, act)."""
        columns, values = self.vector(text)
        first = self._scores(self.intent, columns, values)
        features = stack_features(first[None, :], signal_matrix([text]))[0]
        scores = (self.stack.weights @ features + self.stack.intercept) / self.stack.temperature
        scores -= scores.max()
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum()
        best = int(probabilities.argmax())
        act_scores = self._scores(self.act, columns, values)
        return (self.intent.classes[best], float(probabilities[best]),
                self.act.classes[int(act_scores.argmax())])


def _read_once(texts: list[str]) -> dict:
    """Analyzers that return each text's n-grams computed once: a training fits features six
    times and transforms five held-out folds, and reading the text is most of that work. The
    grams are the same lists the analyzers give, so the vocabularies are the same."""
    analyzers = {}
    for part, analyzer in ANALYZERS.items():
        grams = {text: analyzer(text) for text in dict.fromkeys(texts)}
        analyzers[part] = grams.__getitem__
    return analyzers


def _vectorizers(analyzers: dict | None = None) -> dict:
    analyzers = analyzers or ANALYZERS
    return {part: TfidfVectorizer(analyzer=analyzers[part], min_df=2 if part == "chars" else 1,
                                  sublinear_tf=True, lowercase=False)
            for part in ANALYZERS}


def _fit_features(texts: list[str], analyzers: dict | None = None):
    from scipy.sparse import hstack

    vectorizers = _vectorizers(analyzers)
    matrices = [vectorizer.fit_transform(texts) for vectorizer in vectorizers.values()]
    return vectorizers, hstack(matrices).tocsr()


def _transform(vectorizers: dict, texts: list[str]):
    from scipy.sparse import hstack

    return hstack([v.transform(texts) for v in vectorizers.values()]).tocsr()


def _classifier(kind: str, c: float):
    if kind == "logistic":
        return LogisticRegression(C=c, max_iter=5000, class_weight="balanced", random_state=0)
    return LinearSVC(C=c, class_weight="balanced", random_state=0)


def _head(classifier, temperature: float = 1.0) -> LinearHead:
    weights = np.asarray(classifier.coef_, dtype=np.float64)
    intercept = np.asarray(classifier.intercept_, dtype=np.float64)
    return LinearHead(classes=[str(c) for c in classifier.classes_], weights=weights,
                      intercept=intercept, temperature=temperature)


def _temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The T that makes softmax(scores / T) best predict the truth (least log loss)."""
    def loss(t: float) -> float:
        scaled = scores / t
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(-(scaled[np.arange(len(truth)), truth] - log_norm).mean())

    return float(minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded").x)


def candidate_name(candidate: tuple) -> str:
    kind, c = candidate
    return f"{kind} C={c:g}"


@dataclass(frozen=True)
class Selection:
    """The intent classifier that cross-validation chose for one recipe (``version``), and the
    macro F1 of every candidate, as the search found them."""

    version: str
    candidate: tuple
    cross_validated_macro_f1: dict


def training_steps(config: TrainingConfig, selection: Selection | None = None) -> int:
    """How many steps ``train`` reports: per fold, the features and each classifier scored;
    then the final features and intent fit, the stacker's folds and fit, and the act fit;
    reading the messages first."""
    scored = 1 if selection is not None else len(config.candidates)
    return 1 + config.folds * (1 + scored) + 2 + config.folds + 1 + 1


def train(examples: list[Example], config: TrainingConfig = TrainingConfig(), *,
          selection: Selection | None = None, on_step=None) -> CompiledModel:
    """Choose the intent classifier by cross-validated macro F1 on ``examples``, calibrate its
    confidence on the out-of-fold scores, fit everything on all of ``examples``, compile.

    With the ``selection`` a search already made for this recipe, only the chosen classifier
    is cross-validated (its out-of-fold scores feed the second stage): the other candidates
    cost three quarters of the time and change nothing in the model. ``on_step(stage)`` is
    called after each of the ``training_steps`` steps."""
    def step(stage: str) -> None:
        if on_step is not None:
            on_step(stage)

    texts = [example.text for example in examples]
    intents = np.array([example.intent for example in examples])
    analyzers = _read_once(texts)
    step("reading the messages")
    folds = StratifiedKFold(config.folds, shuffle=True, random_state=config.seed)
    if selection is not None and selection.candidate not in config.candidates:
        raise ValueError(f"{selection.candidate} is not a candidate of {config}.")
    scored = (selection.candidate,) if selection is not None else config.candidates
    out_of_fold = {candidate: np.empty(len(texts), dtype=object) for candidate in scored}
    fold_scores = {candidate: np.zeros((len(texts), 3)) for candidate in scored}
    for fold, (train_index, test_index) in enumerate(folds.split(texts, intents), start=1):
        vectorizers, matrix = _fit_features([texts[i] for i in train_index], analyzers)
        held_out = _transform(vectorizers, [texts[i] for i in test_index])
        step(f"fold {fold}/{config.folds}: features")
        for candidate in scored:
            classifier = _classifier(*candidate).fit(matrix, intents[train_index])
            out_of_fold[candidate][test_index] = classifier.predict(held_out)
            fold_scores[candidate][test_index] = classifier.decision_function(held_out)
            step(f"fold {fold}/{config.folds}: {candidate_name(candidate)}")
    if selection is None:
        figures = {candidate_name(candidate): round(f1_score(
            intents, out_of_fold[candidate], average="macro"), 4) for candidate in scored}
        best = max(scored, key=lambda candidate: f1_score(intents, out_of_fold[candidate],
                                                          average="macro"))
    else:
        figures, best = dict(selection.cross_validated_macro_f1), selection.candidate
    vectorizers, matrix = _fit_features(texts, analyzers)
    step("features of the whole train split")
    intent_classifier = _classifier(*best).fit(matrix, intents)
    step(f"intent: {candidate_name(best)}")
    # Second stage, on the first stage's out-of-fold scores (never on scores of messages it
    # trained on), with its own out-of-fold scores for the temperature.
    stacked = stack_features(fold_scores[best], signal_matrix(texts))
    stack_scores = np.zeros((len(texts), 3))
    stack_predicted = np.empty(len(texts), dtype=object)
    for fold, (train_index, test_index) in enumerate(folds.split(texts, intents), start=1):
        fold_stacker = LogisticRegression(C=STACK_C, max_iter=5000).fit(
            stacked[train_index], intents[train_index])
        stack_scores[test_index] = fold_stacker.decision_function(stacked[test_index])
        stack_predicted[test_index] = fold_stacker.predict(stacked[test_index])
        step(f"second stage, fold {fold}/{config.folds}")
    stacked_f1 = f1_score(intents, stack_predicted, average="macro")
    stacker = LogisticRegression(C=STACK_C, max_iter=5000).fit(stacked, intents)
    step("second stage")
    classes = list(stacker.classes_)
    truth = np.array([classes.index(label) for label in intents])
    temperature = _temperature(stack_scores, truth)
    act_classifier = _classifier(*best).fit(matrix, [e.act or "other" for e in examples])
    step("act")
    offsets, start = {}, 0
    for part, vectorizer in vectorizers.items():
        offsets[part] = start
        start += len(vectorizer.vocabulary_)
    return CompiledModel(
        vocabularies={part: {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
                      for part, vectorizer in vectorizers.items()},
        idf={part: vectorizer.idf_.astype(np.float64) for part, vectorizer in
             vectorizers.items()},
        offsets=offsets,
        intent=_head(intent_classifier),
        stack=_head(stacker, temperature),
        act=_head(act_classifier),
        chosen={"intent_classifier": candidate_name(best),
                "cross_validated_macro_f1": figures,
                "searched": selection is None,
                "stacked_cross_validated_macro_f1": round(stacked_f1, 4),
                "temperature": round(temperature, 4)},
    )


# The search's choice for the current recipe, committed beside the corpus: `make run` on a new
# machine then cross-validates only the chosen classifier (the model is the same). A recipe
# change (corpus, features, config) makes it stale, and the next training searches again.
SELECTION_FILE = Path(__file__).resolve().parent / "selection.json"


def recorded_selection(version: str, config: TrainingConfig) -> Selection | None:
    """The recorded choice when it was made for ``version`` among ``config``'s candidates."""
    try:
        recorded = json.loads(SELECTION_FILE.read_text())
    except (OSError, ValueError):
        return None
    candidate = tuple(recorded.get("candidate") or ())
    if recorded.get("version") != version or candidate not in config.candidates:
        return None
    return Selection(version=version, candidate=candidate,
                     cross_validated_macro_f1=dict(recorded["cross_validated_macro_f1"]))


def record_selection(selection: Selection) -> None:
    kind, c = selection.candidate
    SELECTION_FILE.write_text(json.dumps({
        "version": selection.version, "candidate": [kind, c],
        "intent_classifier": candidate_name(selection.candidate),
        "cross_validated_macro_f1": selection.cross_validated_macro_f1,
    }, indent=2) + "\n")


def artefact_bytes(artefact: CompiledModel) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(artefact, buffer, compress=3)
    return buffer.getvalue()


def model_dir() -> Path:
    return Path(settings.NLU_MODEL_DIR)


def artefact_path(version: str) -> Path:
    return model_dir() / f"{MODEL_NAME}-{version}.joblib"


def _code_sha256() -> str:
    """The feature and rule code: a change there is a new model even on the same corpus."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    # Sorted, so the hash does not depend on the order the file system lists them in.
    for path in [here / "model.py", *sorted((here / "rules").glob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def version_for(corpus: Corpus, config: TrainingConfig) -> str:
    recipe = json.dumps([corpus.sha256, FEATURES_VERSION, repr(config), _code_sha256()],
                        sort_keys=True)
    return f"v{FEATURES_VERSION}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def save(version: str, artefact: CompiledModel, metrics: dict) -> str:
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


def load(version: str, sha256: str) -> CompiledModel:
    path = artefact_path(version)
    if not path.exists():
        raise ArtefactMissing(f"The NLU model {version} is not in {model_dir()}; run "
                              "`python manage.py train_nlu`.")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArtefactMissing(f"{path.name} does not match its registered checksum; retrain "
                              "with `python manage.py train_nlu`.")
    # Our own artefact, checked against the checksum registered when it was trained.
    return joblib.load(io.BytesIO(data))

