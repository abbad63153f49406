"""How well the model reads labelled messages: intent precision / recall / F1 / accuracy (macro
over the three intents), per class and as a confusion matrix, budget accuracy, how well its
confidence is calibrated, and speed."""

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from agents.nlu.corpus import ACTS, INTENTS, Example

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    n: int
    confidence: float  # the mean top probability of the readings in the bin
    accuracy: float  # how many of them were right


@dataclass(frozen=True)
class Calibration:
    """Expected calibration error (ECE): over equal-width bins of the top probability, the
    gap between how sure the model said it was and how often it was right, weighted by each
    bin's share of the messages. 0 is perfect; a model that says 99 % and is right 90 % of
    the time scores about 0.09."""

    ece: float
    n: int
    bins: tuple[CalibrationBin, ...] = ()

    def as_json(self) -> dict:
        return {"ece": round(self.ece, 4), "n": self.n, "bins": [
            {"lower": b.lower, "upper": b.upper, "n": b.n,
             "confidence": round(b.confidence, 4), "accuracy": round(b.accuracy, 4)}
            for b in self.bins]}


def calibration(readings: Iterable[tuple[float, bool]], *,
                bins: int = CALIBRATION_BINS) -> Calibration:
    """The calibration of ``(top probability, was it right)`` pairs. Bin k holds the
    probabilities from k/bins up to (k+1)/bins; 1.0 falls in the last one."""
    sums = [[0, 0.0, 0] for _ in range(bins)]  # readings, their confidence, the right ones
    for confidence, right in readings:
        if not math.isfinite(confidence):
            raise ValueError(f"A confidence of {confidence} cannot be calibrated.")
        index = min(max(int(confidence * bins), 0), bins - 1)
        sums[index][0] += 1
        sums[index][1] += confidence
        sums[index][2] += bool(right)
    total = sum(count for count, _, _ in sums)
    if not total:
        raise ValueError("No readings to calibrate.")
    found = tuple(
        CalibrationBin(lower=index / bins, upper=(index + 1) / bins, n=count,
                       confidence=confidence / count, accuracy=right / count)
        for index, (count, confidence, right) in enumerate(sums) if count)
    ece = sum(b.n / total * abs(b.confidence - b.accuracy) for b in found)
    return Calibration(ece=ece, n=total, bins=found)


def held_out_calibration(examples: list[Example],
                         predict: Callable[[str], tuple[str, float, str]]) -> Calibration:
    """The calibration of ``predict(text) -> (intent, confidence, act)`` on ``examples``."""
    readings = []
    for example in examples:
        intent, confidence, _ = predict(example.text)
        readings.append((confidence, intent == example.intent))
    return calibration(readings)


def calibration_lines(calibrated: Calibration, *, raw: Calibration | None = None,
                      temperature: float | None = None) -> list[str]:
    """The calibration as a person reads it: the ECE (before and after calibration when
    both are given) and the reliability table it comes from."""
    lines = [f"calibration     expected calibration error over {CALIBRATION_BINS} equal-width "
             f"bins of the top probability"]
    if raw is not None:
        lines.append(f"  before         ECE {raw.ece:.4f}  (the second stage's softmax, T=1)")
        scaled = "" if temperature is None else f" T={temperature:.4f}"
        lines.append(f"  after          ECE {calibrated.ece:.4f}  (temperature scaling{scaled}, "
                     f"fitted on out-of-fold scores)")
    else:
        lines.append(f"  ECE            {calibrated.ece:.4f}")
    lines.append(f"  {'confidence':<12} {'n':>5} {'mean':>7} {'right':>7}")
    for b in calibrated.bins:
        lines.append(f"  {b.lower:.1f} to {b.upper:.1f}   {b.n:>5} {b.confidence:>7.3f} "
                     f"{b.accuracy:>7.3f}")
    return lines


@dataclass(frozen=True)
class Evaluation:
    n: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    per_class: dict = field(default_factory=dict)
    confusion: list = field(default_factory=list)  # rows: true label, columns: predicted
    budget_accuracy: float = 0.0
    act_accuracy: float | None = None
    ms_per_message: float = 0.0
    calibration: Calibration | None = None

    def as_json(self) -> dict:
        return {
            "intent": {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                       "f1": round(self.f1, 4), "accuracy": round(self.accuracy, 4)},
            "budget_accuracy": round(self.budget_accuracy, 4),
            "n": self.n,
            "ms_per_message": round(self.ms_per_message, 3),
        }


def budget_right(example: Example, amount: Decimal | None, currency: str) -> bool:
    """Right when both are blank, or the currency matches and the amount is within 1 %."""
    if example.budget_amount is None:
        return amount is None
    if amount is None or currency != example.budget_currency:
        return False
    return abs(amount - example.budget_amount) <= example.budget_amount * Decimal("0.01")


def evaluate(examples: list[Example], analyze) -> Evaluation:
    """Score ``analyze(text) -> Analysis`` on ``examples``, one message at a time (as the
    platform calls it), timing each call."""
    if not examples:
        raise ValueError("No examples to evaluate.")
    predicted, acts, budgets_right = [], [], 0
    analyze(examples[0].text)  # loads the model once; the timing is of reading messages
    started = time.perf_counter()
    analyses = [analyze(example.text) for example in examples]
    elapsed = time.perf_counter() - started
    for example, analysis in zip(examples, analyses, strict=True):
        predicted.append(analysis.intent)
        acts.append(analysis.act)
        budgets_right += budget_right(example, analysis.budget_amount, analysis.budget_currency)
    truth = [example.intent for example in examples]
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, predicted, labels=list(INTENTS), average="macro", zero_division=0)
    per = precision_recall_fscore_support(truth, predicted, labels=list(INTENTS),
                                          zero_division=0)
    per_class = {label: {"precision": float(per[0][i]), "recall": float(per[1][i]),
                         "f1": float(per[2][i]), "support": int(per[3][i])}
                 for i, label in enumerate(INTENTS)}
    labelled_acts = [(example.act, act) for example, act in zip(examples, acts, strict=True)
                     if example.act is not None]
    act_accuracy = (sum(a == b for a, b in labelled_acts) / len(labelled_acts)
                    if labelled_acts else None)
    return Evaluation(
        n=len(examples), precision=float(precision), recall=float(recall), f1=float(f1),
        accuracy=float(accuracy_score(truth, predicted)), per_class=per_class,
        confusion=confusion_matrix(truth, predicted, labels=list(INTENTS)).tolist(),
        budget_accuracy=budgets_right / len(examples), act_accuracy=act_accuracy,
        ms_per_message=1000 * elapsed / len(examples),
        calibration=calibration(
            (analysis.confidence, analysis.intent == example.intent)
            for example, analysis in zip(examples, analyses, strict=True)),
    )


def report_lines(evaluation: Evaluation) -> list[str]:
    """The evaluation as a person reads it."""
    lines = [
        f"messages        {evaluation.n}",
        f"intent          precision {evaluation.precision:.3f}  recall {evaluation.recall:.3f}"
        f"  F1 {evaluation.f1:.3f}  accuracy {evaluation.accuracy:.3f}  (macro)",
        "",
        f"{'class':<8} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>5}",
    ]
    for label, figures in evaluation.per_class.items():
        lines.append(f"{label:<8} {figures['precision']:>9.3f} {figures['recall']:>7.3f} "
                     f"{figures['f1']:>6.3f} {figures['support']:>5}")
    lines += ["", "confusion (rows: labelled, columns: predicted)",
              "         " + "".join(f"{label:>8}" for label in INTENTS)]
    for label, row in zip(INTENTS, evaluation.confusion, strict=True):
        lines.append(f"{label:<9}" + "".join(f"{count:>8}" for count in row))
    lines += ["", f"budget accuracy {evaluation.budget_accuracy:.3f}"]
    if evaluation.act_accuracy is not None:
        lines.append(f"act accuracy    {evaluation.act_accuracy:.3f}  ({', '.join(ACTS)})")
    lines.append(f"speed           {evaluation.ms_per_message:.3f} ms per message")
    if evaluation.calibration is not None:
        lines += ["", *calibration_lines(evaluation.calibration)]
    return lines
