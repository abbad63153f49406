"""Training the NLU: the search's recorded choice gives the same model without the search, the
record matches the committed corpus, and training shows its progress."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from agents.nlu import model
from agents.nlu.corpus import load_corpus

SMALL = model.TrainingConfig(candidates=(("logistic", 10.0), ("svm", 1.0)), folds=3)


@pytest.fixture(scope="module")
def sample():
    """600 training messages: enough for every class and act, small enough to search."""
    train = load_corpus().train
    return train[::len(train) // 600][:600]


def test_the_recorded_choice_is_for_the_committed_corpus_and_recipe():
    # A stale record is not wrong (training searches again), but then every new machine pays
    # for the search: run `manage.py train_nlu --search` and commit agents/nlu/selection.json.
    config = model.TrainingConfig()
    version = model.version_for(load_corpus(), config)
    selection = model.recorded_selection(version, config)
    assert selection is not None, "agents/nlu/selection.json is stale"
    assert model.candidate_name(selection.candidate) in selection.cross_validated_macro_f1
    assert max(selection.cross_validated_macro_f1.values()) == (
        selection.cross_validated_macro_f1[model.candidate_name(selection.candidate)])


def test_training_with_the_recorded_choice_builds_the_same_model_as_the_search(sample):
    stages = []
    searched = model.train(sample, SMALL, on_step=stages.append)
    assert len(stages) == model.training_steps(SMALL) and stages[-1] == "act"
    chosen = next(candidate for candidate in SMALL.candidates if model.candidate_name(
        candidate) == searched.chosen["intent_classifier"])
    selection = model.Selection(version="test", candidate=chosen,
                                cross_validated_macro_f1=searched.chosen[
                                    "cross_validated_macro_f1"])
    stages = []
    recorded = model.train(sample, SMALL, selection=selection, on_step=stages.append)
    assert len(stages) == model.training_steps(SMALL, selection) < model.training_steps(SMALL)

    assert searched.chosen["searched"] and not recorded.chosen["searched"]
    assert {k: v for k, v in recorded.chosen.items() if k != "searched"} == {
        k: v for k, v in searched.chosen.items() if k != "searched"}
    assert recorded.vocabularies == searched.vocabularies
    for head in ("intent", "stack", "act"):
        one, other = getattr(searched, head), getattr(recorded, head)
        assert one.classes == other.classes and one.temperature == other.temperature
        assert np.array_equal(one.weights, other.weights)
        assert np.array_equal(one.intercept, other.intercept)


def test_a_choice_that_is_not_a_candidate_is_refused(sample):
    selection = model.Selection(version="test", candidate=("svm", 7.0),
                                cross_validated_macro_f1={})
    with pytest.raises(ValueError, match="not a candidate"):
        model.train(sample, SMALL, selection=selection)


def test_a_record_for_another_recipe_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setattr(model, "SELECTION_FILE", tmp_path / "selection.json")
    assert model.recorded_selection("v5-anything", SMALL) is None
    model.record_selection(model.Selection(version="v5-old", candidate=("svm", 1.0),
                                           cross_validated_macro_f1={"svm C=1": 0.9}))
    assert model.recorded_selection("v5-new", SMALL) is None
    found = model.recorded_selection("v5-old", SMALL)
    assert found == model.Selection(version="v5-old", candidate=("svm", 1.0),
                                    cross_validated_macro_f1={"svm C=1": 0.9})
    assert model.recorded_selection("v5-old", model.TrainingConfig(
        candidates=(("logistic", 10.0),))) is None


@pytest.mark.django_db
def test_train_nlu_shows_its_progress_and_says_where_the_choice_came_from(tmp_path, settings):
    settings.NLU_MODEL_DIR = str(tmp_path)
    recorded = model.SELECTION_FILE.read_bytes()
    out, err = StringIO(), StringIO()
    call_command("train_nlu", "--no-register", stdout=out, stderr=err)
    assert "as the last search chose it for this corpus (selection.json" in out.getvalue()
    progress = err.getvalue().splitlines()
    # Written to a log (not a terminal): a line for each tenth, the last one complete.
    assert 5 <= len(progress) <= 11
    assert progress[-1].startswith("Training lead-nlu (act done) [")
    assert "100%" in progress[-1] and " in " in progress[-1]
    assert "Held-out test split" in out.getvalue()
    assert model.SELECTION_FILE.read_bytes() == recorded  # written only with --search
