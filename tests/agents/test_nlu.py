"""Reading lead messages: the Python API, the acts on clear examples, the commands."""

import json
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from agents.nlu.corpus import ACTS, CorpusError, load_corpus, read_text
from monitoring.models import ModelVersion

# analyze() asks the model registry (the database) which version is active.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# The label guide's own sample file, kept beside the tests so they run from any checkout.
DEV_EXAMPLES = Path(__file__).resolve().parent / "data" / "dev_examples.csv"


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("STOP", "opt_out"),
        ("Please unsubscribe me from these messages", "opt_out"),
        ("mujhe message mat bhejo", "opt_out"),
        ("Can I talk to a real person?", "human_request"),
        ("kisi insaan se baat karao", "human_request"),
        ("Can we book a demo for Thursday 4pm?", "booking"),
        ("demo kab mil sakta hai?", "booking"),
        ("What is the price of the premium plan?", "pricing"),
        ("rate kya hai?", "pricing"),
        ("Too expensive for us, not interested", "objection"),
        ("Does it integrate with Zoho CRM?", "question"),
        ("Hi", "greeting"),
        ("namaste", "greeting"),
        ("thanks, got it", "other"),
    ],
)
def test_every_act_on_a_clear_example(nlu_model, text, act):
    assert nlu_model.analyze(text).act == act


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Please send the payment link, we want to start today", "high"),
        ("Invoice bhejo, aaj payment kar denge", "high"),
        ("Does it support WhatsApp? Still comparing a few vendors", "medium"),
        ("Need approval from our CFO, maybe next month", "medium"),
        ("STOP", "low"),
        ("wrong number", "low"),
    ],
)
def test_clear_intents(nlu_model, text, intent):
    assert nlu_model.analyze(text).intent == intent


def test_analyze_returns_a_frozen_analysis_with_budget_and_version(nlu_model):
    analysis = nlu_model.analyze("We have 3 lakh and need it live this week")
    assert (analysis.intent, analysis.budget_amount, analysis.budget_currency) == (
        "high", Decimal(300000), "INR")
    assert 0.34 < analysis.confidence <= 1 and analysis.act in ACTS
    assert analysis.model_version.startswith("v")
    with pytest.raises(AttributeError):
        analysis.intent = "low"


def test_analyze_reports_the_budgets_period_and_the_leads_own_words(nlu_model):
    analysis = nlu_model.analyze("We can spend ₹40k a month, need it live this week")
    assert (analysis.budget_amount, analysis.budget_period, analysis.budget_phrase) == (
        Decimal(40000), "month", "₹40k a month")
    once = nlu_model.analyze("They quoted 2 lakh, we can do dedh lakh")
    assert (once.budget_amount, once.budget_period, once.budget_phrase) == (
        Decimal(150000), "", "dedh lakh")
    assert (nlu_model.analyze("hello").budget_period, nlu_model.analyze("hello").budget_phrase
            ) == ("", "")


def test_a_bare_number_takes_the_tenants_currency(nlu_model, org):
    org.country = "US"
    assert nlu_model.analyze("budget 5000, start asap", org=org).budget_currency == "USD"


def test_confidence_is_lower_on_an_ambiguous_message(nlu_model):
    clear = nlu_model.analyze("Send the invoice now, paying today").confidence
    vague = nlu_model.analyze("hmm ok").confidence
    assert clear > vague


def test_evaluate_nlu_prints_the_guides_json(nlu_model):
    out = StringIO()
    call_command("evaluate_nlu", str(DEV_EXAMPLES), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert set(result) == {"intent", "budget_accuracy", "n", "ms_per_message"}
    assert set(result["intent"]) == {"precision", "recall", "f1", "accuracy"}
    assert result["n"] == 18
    assert result["budget_accuracy"] >= 0.9 and result["intent"]["f1"] >= 0.8


def test_evaluate_nlu_prints_per_class_figures_and_the_confusion_matrix(nlu_model):
    out = StringIO()
    call_command("evaluate_nlu", str(DEV_EXAMPLES), stdout=out)
    report = out.getvalue()
    assert "confusion (rows: labelled, columns: predicted)" in report
    for label in ("high", "medium", "low"):
        assert label in report
    assert "budget accuracy" in report and "ms per message" in report


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("text,intent,budget_amount,budget_currency\nhello,urgent,,\n",
         "line 2: unknown intent 'urgent'"),
        ("text,intent,budget_amount\nhello,low,\n", "lacks budget_currency"),
        ("text,intent,budget_amount,budget_currency\nhello,low,lots,INR\n",
         "line 2: budget_amount 'lots' is not a number"),
        ("text,intent,budget_amount,budget_currency\nok,low,,\nhi,low,5,\n",
         "line 3: a budget needs a three-letter budget_currency"),
        ("text,intent,budget_amount,budget_currency\nhi,low,,INR\n",
         "without a budget_amount"),
        ("text,intent,budget_amount,budget_currency\n\"a,b\",low,,,extra\n",
         "line 2: 5 cells"),
        ("text,intent,act,budget_amount,budget_currency\nhi,low,wave,,\n",
         "unknown act 'wave'"),
        ("", "is empty"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_line(content, words):
    with pytest.raises(CorpusError, match=words):
        read_text(content, name="input.csv")


def test_evaluate_nlu_exits_1_with_the_line_for_a_bad_file(tmp_path, nlu_model):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,intent,budget_amount,budget_currency\nfine,low,,\nnope,maybe,,\n")
    with pytest.raises(CommandError, match=r"bad\.csv, line 3: unknown intent 'maybe'"):
        call_command("evaluate_nlu", str(bad))
    result = subprocess.run(
        [sys.executable, "manage.py", "evaluate_nlu", str(tmp_path / "missing.csv")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_the_corpus_is_large_balanced_and_split_without_overlap():
    corpus = load_corpus()
    assert len(corpus.all) >= 1000
    counts = {label: sum(e.intent == label for e in corpus.all) for label in
              ("high", "medium", "low")}
    assert min(counts.values()) >= 0.28 * len(corpus.all), counts
    assert {e.act for e in corpus.all} == set(ACTS)
    assert not {e.key for e in corpus.train} & {e.key for e in corpus.test}
    assert 0.15 < len(corpus.test) / len(corpus.all) < 0.25


def test_training_registers_the_active_version_with_its_held_out_figures(tmp_path, settings):
    settings.NLU_MODEL_DIR = str(tmp_path)
    out = StringIO()
    call_command("train_nlu", stdout=out)
    active = ModelVersion.objects.get(name="lead-nlu", is_active=True)
    assert "Held-out test split" in out.getvalue()
    assert {"intent", "budget_accuracy", "n", "ms_per_message"} <= set(active.metrics)
    assert active.metrics["intent"]["f1"] > 0.8
    assert (tmp_path / f"lead-nlu-{active.version}.joblib").exists()
    again = StringIO()
    call_command("train_nlu", "--if-missing", stdout=again)
    assert "already built" in again.getvalue()
    assert ModelVersion.objects.filter(name="lead-nlu").count() == 1
