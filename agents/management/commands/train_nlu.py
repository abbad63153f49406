import io
import sys
from collections import Counter
from dataclasses import replace

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from agents import nlu
from agents.nlu import model
from agents.nlu.corpus import ACTS, INTENTS, CorpusError, load_corpus
from agents.nlu.evaluation import (
    calibration_lines,
    evaluate,
    held_out_calibration,
    report_lines,
)
from flexoraa.progress import ProgressBar


class Command(BaseCommand):
    help = ("Train the lead-message NLU on the corpus's train split, print its figures on the "
            "held-out test split, save the artefact and register it as the active version.")

    def add_arguments(self, parser):
        parser.add_argument("--if-missing", action="store_true",
                            help="Do nothing when this corpus's model is already built.")
        parser.add_argument("--no-register", action="store_true",
                            help="Save the artefact but leave the active version as it is.")
        parser.add_argument("--search", action="store_true",
                            help="Cross-validate every candidate classifier even when "
                                 "agents/nlu/selection.json holds this corpus's choice, and "
                                 "record the choice there.")

    def handle(self, *args, if_missing: bool, no_register: bool, search: bool, **options):
        try:
            corpus = load_corpus()
        except CorpusError as exc:
            raise CommandError(str(exc)) from exc
        config = model.TrainingConfig()
        version = model.version_for(corpus, config)
        latest = model.latest_on_disk()
        if if_missing and latest and latest["version"] == version and model.artefact_path(
            version
        ).exists():
            self._register(latest, no_register)
            self.stdout.write(f"NLU model {version} is already built.")
            return
        self._describe(corpus)
        selection = None if search else model.recorded_selection(version, config)
        self.stdout.write(f"Training {model.MODEL_NAME} {version} on {len(corpus.train)} "
                          f"messages…")
        if selection is None:
            self.stdout.write(f"  choosing the intent classifier by {config.folds}-fold "
                              f"cross-validation of {len(config.candidates)} candidates")
        else:
            self.stdout.write(f"  intent classifier {model.candidate_name(selection.candidate)}"
                              f", as the last search chose it for this corpus "
                              f"({model.SELECTION_FILE.name}; --search runs it again)")
        artefact = self._train(corpus, config, selection, options)
        if search:
            # Only when asked: a routine training never writes into the checkout.
            chosen = next(candidate for candidate in config.candidates
                          if model.candidate_name(candidate)
                          == artefact.chosen["intent_classifier"])
            model.record_selection(model.Selection(
                version=version, candidate=chosen,
                cross_validated_macro_f1=artefact.chosen["cross_validated_macro_f1"]))

        def analyze_with_new_model(text):
            intent, confidence, act = artefact.predict(text)
            budget = nlu.extract_budget(text)
            return nlu.Analysis(intent=intent, confidence=confidence, act=act,
                                budget_amount=None if budget is None else budget.amount,
                                budget_currency="" if budget is None else budget.currency,
                                model_version=version)

        evaluation = evaluate(corpus.test, analyze_with_new_model)
        self.stdout.write(f"\nHeld-out test split ({len(corpus.test)} messages the model "
                          "never trained on):")
        # Before calibration: the same model with its temperature left at 1. Scaling by a
        # temperature never changes which intent wins, so only the confidence differs.
        uncalibrated = replace(artefact, stack=replace(artefact.stack, temperature=1.0))
        before = held_out_calibration(corpus.test, uncalibrated.predict)
        calibrated = evaluation.calibration
        for line in [*report_lines(replace(evaluation, calibration=None)), "",
                     *calibration_lines(calibrated, raw=before,
                                        temperature=artefact.stack.temperature)]:
            self.stdout.write(f"  {line}")
        self.stdout.write(f"  chosen by cross-validation on the train split: "
                          f"{artefact.chosen['intent_classifier']} "
                          f"{artefact.chosen['cross_validated_macro_f1']}")
        metrics = {**evaluation.as_json(), "act_accuracy": evaluation.act_accuracy,
                   "calibration": {**calibrated.as_json(), "ece_before": round(before.ece, 4),
                                   "temperature": round(artefact.stack.temperature, 4)},
                   "chosen": artefact.chosen,
                   "per_class": evaluation.per_class, "train_size": len(corpus.train),
                   "corpus_sha256": corpus.sha256}
        sha256 = model.save(version, artefact, metrics)
        nlu.forget_loaded_model()
        self.stdout.write(f"\nSaved {model.artefact_path(version)} (sha256 {sha256[:12]}…).")
        if search:
            self.stdout.write(f"Recorded the choice in {model.SELECTION_FILE}: commit it with "
                              "the corpus, so new machines train without the search.")
        elif artefact.chosen["searched"]:
            self.stdout.write(f"{model.SELECTION_FILE.name} was for another corpus or code; "
                              "run `train_nlu --search` and commit it, so new machines train "
                              "without the search.")
        self._register({"name": model.MODEL_NAME, "version": version, "sha256": sha256,
                        "metrics": metrics}, no_register)

    def _train(self, corpus, config, selection, options) -> model.CompiledModel:
        # The bar goes to the real stderr (Django's wrapper would end every redraw with a
        # newline); call_command(stderr=...) hands its own stream in the options.
        stream = (io.StringIO() if options.get("verbosity", 1) == 0
                  else options.get("stderr") or sys.stderr)
        label = f"Training {model.MODEL_NAME}"
        with ProgressBar(model.training_steps(config, selection), stream, label) as bar:
            def on_step(stage: str) -> None:
                bar.label = f"{label} ({stage} done)"
                bar.advance()

            return model.train(corpus.train, config, selection=selection, on_step=on_step)

    def _describe(self, corpus) -> None:
        examples = corpus.all
        intents = Counter(example.intent for example in examples)
        acts = Counter(example.act for example in examples)
        budgets = sum(example.budget_amount is not None for example in examples)
        self.stdout.write(f"Corpus: {len(examples)} messages ({len(corpus.train)} train, "
                          f"{len(corpus.test)} held-out test), {budgets} with a budget.")
        self.stdout.write("  intent: " + ", ".join(f"{label} {intents[label]}"
                                                   for label in INTENTS))
        self.stdout.write("  act:    " + ", ".join(f"{label} {acts[label]}" for label in ACTS))

    def _register(self, latest: dict, no_register: bool) -> None:
        if no_register:
            return
        from monitoring import services as monitoring

        try:
            registered = monitoring.model_version_register(
                name=latest["name"], version=latest["version"],
                artefact_sha256=latest["sha256"], metrics=latest["metrics"],
            )
        except DatabaseError as exc:
            self.stderr.write(f"Not registered (the database is not ready: {exc}); run "
                              "`manage.py migrate`, then train_nlu again.")
            return
        self.stdout.write(f"Active model version: {registered.name} {registered.version}.")
