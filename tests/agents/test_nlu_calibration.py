"""The intent confidence reps see: measured on the held-out split (expected calibration error,
before and after the temperature), shown in words whose bands the held-out split supports,
and never as a bare "100%"."""

import json
import math
import re
from dataclasses import replace
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from agents.nlu import model
from agents.nlu.corpus import load_corpus
from agents.nlu.evaluation import calibration, held_out_calibration
from flexoraa.confidence import BANDS, confidence_percent, confidence_words
from tests.agents.factories import make_message
from tests.agents.inbox_support import open_conversation
from tests.leads.pages_support import lead_of, page_of

ROOT = Path(__file__).resolve().parents[2]
# What the served model must reach on the held-out split. It measured 0.0044 when written
# (0.0022 before the temperature); the bootstrap's spread on 1,788 messages is about 0.003.
ECE_BOUND = 0.02
NOISE = 0.005


# --- the measure ------------------------------------------------------------------------

def test_the_expected_calibration_error_weighs_each_bins_gap_by_its_share():
    readings = [(0.95, True)] * 9 + [(0.95, False)] + [(0.55, True), (0.55, False)]
    found = calibration(readings)
    # Ten at 0.95 right nine times (gap 0.05), two at 0.55 right once (gap 0.05).
    assert math.isclose(found.ece, 0.05)
    assert [(b.lower, b.n) for b in found.bins] == [(0.5, 2), (0.9, 10)]
    assert found.n == 12


def test_a_confidence_of_one_falls_in_the_top_bin_and_nonsense_is_refused():
    assert calibration([(1.0, True)]).bins[0].upper == 1.0
    assert calibration([(1.0, True)]).ece == 0.0
    with pytest.raises(ValueError, match="cannot be calibrated"):
        calibration([(float("nan"), True)])
    with pytest.raises(ValueError, match="No readings"):
        calibration([])


def _softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _readings(scores, truth):
    probabilities = _softmax(scores)
    return list(zip(probabilities.max(axis=1), probabilities.argmax(axis=1) == truth,
                    strict=True))


def test_the_temperature_training_fits_lowers_the_ece_of_over_confident_scores():
    # Labels drawn from softmax(scores) are calibrated at T=1; the model reports the scores
    # three times too sharp. The temperature fitted on one half must fix the other half.
    rng = np.random.default_rng(7)
    scores = rng.normal(0, 1.5, size=(6000, 3))
    truth = np.array([rng.choice(3, p=p) for p in _softmax(scores)])
    sharp = scores * 3
    fit, check = slice(0, 3000), slice(3000, None)
    temperature = model._temperature(sharp[fit], truth[fit])
    before = calibration(_readings(sharp[check], truth[check])).ece
    after = calibration(_readings(sharp[check] / temperature, truth[check])).ece
    assert 2.5 < temperature < 3.5
    assert before > 0.1
    assert after < before / 4 and after < ECE_BOUND


# --- the served model on the held-out split ----------------------------------------------

@pytest.fixture(scope="module")
def served(nlu_model):
    latest = model.latest_on_disk()
    artefact = model.load(latest["version"], latest["sha256"])
    raw = replace(artefact, stack=replace(artefact.stack, temperature=1.0))
    return artefact, raw, load_corpus().test


def test_the_calibrated_confidence_is_within_the_bound_on_the_held_out_split(served):
    artefact, raw, held_out = served
    after = held_out_calibration(held_out, artefact.predict)
    before = held_out_calibration(held_out, raw.predict)
    assert after.n == len(held_out) > 1000
    assert after.ece < ECE_BOUND, after
    # The second stage is a logistic regression on out-of-fold scores, itself a calibration
    # (Platt's, for three classes); the temperature fitted after it moves the ECE by less
    # than the sampling noise, and must never cost more than that.
    assert after.ece <= before.ece + NOISE, (before.ece, after.ece)


def test_the_temperature_never_changes_which_intent_wins(served):
    # So F1, budget accuracy and the first-touch tiers are those of the uncalibrated model.
    artefact, raw, held_out = served
    for example in held_out[::3]:
        assert artefact.predict(example.text)[0] == raw.predict(example.text)[0]


def test_each_word_is_right_about_as_often_as_it_says_on_the_held_out_split(served):
    artefact, _, held_out = served
    by_words = {}
    for example in held_out:
        intent, confidence, _ = artefact.predict(example.text)
        by_words.setdefault(confidence_words(confidence), []).append(intent == example.intent)
    uppers = {words: upper for (_, words), upper in
              zip(BANDS, [1.0, *(lowest for lowest, _ in BANDS[:-1])], strict=True)}
    judged = 0
    for lowest, words in BANDS:
        right = by_words.get(words, [])
        if len(right) < 30:  # too few to judge (below 0.5: about 11 of 1,788)
            continue
        judged += 1
        share = sum(right) / len(right)
        assert lowest <= share <= uppers[words], (words, share, len(right))
    assert judged == 3


# --- the words -------------------------------------------------------------------------

@pytest.mark.parametrize(("confidence", "words"), [
    (1.0, "very likely"), (0.9, "very likely"), (0.8999, "likely"), (0.7, "likely"),
    (0.6999, "possibly"), (0.5, "possibly"), (0.4999, "unsure"), (0.34, "unsure"),
    (0.0, "unsure"), (None, ""), (float("nan"), ""),
])
def test_the_words_follow_the_bands(confidence, words):
    assert confidence_words(confidence) == words


@pytest.mark.parametrize(("confidence", "percent"), [
    (1.0, "over 99%"), (0.9996, "over 99%"), (0.99, "over 99%"), (0.9899, "98%"),
    (0.8999, "89%"), (0.5, "50%"), (None, ""),
])
def test_the_number_behind_the_words_never_rounds_up_to_100(confidence, percent):
    assert confidence_percent(confidence) == percent


def test_the_tag_gives_the_words_with_the_number_in_the_tooltip():
    assert _render_tag(0.9996) == ('<span class="confidence" title="over 99% confident" '
                    'data-testid="confidence" data-confidence="0.9996">very likely</span>')
    assert _render_tag(None) == "" and _render_tag("junk") == ""


def _render_tag(value) -> str:
    from django.template import Context, Template

    return Template("{% load confidence %}{% confidence_words value %}").render(
        Context({"value": value}))


def test_no_template_shows_the_confidence_as_a_percentage():
    templates = [path for path in ROOT.glob("*/templates/**/*.html")
                 if ".venv" not in path.parts]
    assert len(templates) > 20
    shown_as_percent = re.compile(r"widthratio [\w.]*confidence|% sure")
    offenders = [str(path.relative_to(ROOT)) for path in templates
                 if shown_as_percent.search(path.read_text())]
    assert offenders == []


@pytest.mark.django_db
def test_the_lead_page_shows_the_intent_in_words(sdr, login_client):
    lead = lead_of(sdr)
    type(lead).objects.filter(pk=lead.pk).update(intent="high", intent_confidence=0.9996)
    page = page_of(login_client(sdr).get(f"/leads/{lead.pk}/"))
    assert ('High (<span class="confidence" title="over 99% confident" '
            'data-testid="confidence" data-confidence="0.9996">very likely</span>)') in page
    assert "100% sure" not in page and "% sure" not in page


@pytest.mark.django_db
def test_the_inbox_thread_shows_each_predicted_intent_in_words(org, sdr, login_client):
    conversation = open_conversation(sdr, name="Mira One")
    message = make_message(org, conversation, body="Send the invoice, paying today",
                           predicted_intent="high")
    type(message).objects.filter(pk=message.pk).update(intent_confidence=0.62)
    page = page_of(login_client(sdr).get(f"/inbox/{conversation.pk}/"))
    assert ('Predicted intent: <strong>high</strong> (<span class="confidence" '
            'title="62% confident" data-testid="confidence" data-confidence="0.6200">'
            'possibly</span>)') in page
    assert "% sure" not in page


@pytest.mark.django_db
def test_train_nlu_reports_the_held_out_ece_before_and_after_calibration(
    served, tmp_path, settings, monkeypatch
):
    # The figures of the committed model, without training it again: training is the
    # subject of test_nlu_training.py.
    artefact, _, _ = served
    settings.NLU_MODEL_DIR = str(tmp_path)
    monkeypatch.setattr(model, "train", lambda *args, on_step=None, **kwargs: artefact)
    out = StringIO()
    call_command("train_nlu", "--no-register", stdout=out, stderr=StringIO())
    report = out.getvalue()
    before = re.search(r"before\s+ECE (\d\.\d{4})", report)
    after = re.search(r"after\s+ECE (\d\.\d{4})\s+\(temperature scaling T=", report)
    assert before and after, report
    assert "expected calibration error over 10 equal-width bins" in report
    assert re.search(r"0\.9 to 1\.0\s+\d+\s+0\.9\d\d\s+0\.9\d\d", report)
    metrics = json.loads((tmp_path / "latest.json").read_text())["metrics"]
    assert metrics["calibration"]["ece"] == float(after.group(1))
    assert metrics["calibration"]["ece_before"] == float(before.group(1))
    assert metrics["calibration"]["temperature"] == round(artefact.stack.temperature, 4)
    assert sum(b["n"] for b in metrics["calibration"]["bins"]) == metrics["n"]
