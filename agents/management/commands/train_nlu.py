from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from agents import nlu
from agents.nlu import model
from agents.nlu.corpus import ACTS, INTENTS, CorpusError, load_corpus
from agents.nlu.evaluation import evaluate, report_lines


class Command(BaseCommand):
    help = ("Train the lead-message NLU on the corpus's train split, print its figures on the "
            "held-out test split, save the artefact and register it as the active version.")

    def add_arguments(self, parser):
        parser.add_argument("--if-missing", action="store_true",
                            help="Do nothing when this corpus's model is already built.")
        parser.add_argument("--no-register", action="store_true",
                            help="Save the artefact but leave the active version as it is.")

    def handle(self, *args, if_missing: bool, no_register: bool, **options):
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
        self.stdout.write(f"Training {model.MODEL_NAME} {version} on {len(corpus.train)} "
                          f"messages…")
        artefact = model.train(corpus.train, config)

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
        for line in report_lines(evaluation):
            self.stdout.write(f"  {line}")
        self.stdout.write(f"  chosen by cross-validation on the train split: "
                          f"{artefact.chosen['intent_classifier']} "
                          f"{artefact.chosen['cross_validated_macro_f1']}")
        metrics = {**evaluation.as_json(), "act_accuracy": evaluation.act_accuracy,
                   "chosen": artefact.chosen,
                   "per_class": evaluation.per_class, "train_size": len(corpus.train),
                   "corpus_sha256": corpus.sha256}
        sha256 = model.save(version, artefact, metrics)
        nlu.forget_loaded_model()
        self.stdout.write(f"\nSaved {model.artefact_path(version)} (sha256 {sha256[:12]}…).")
        self._register({"name": model.MODEL_NAME, "version": version, "sha256": sha256,
                        "metrics": metrics}, no_register)

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
