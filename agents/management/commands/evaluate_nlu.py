import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agents import nlu
from agents.nlu.corpus import CorpusError, read_file
from agents.nlu.evaluation import evaluate, report_lines
from agents.nlu.model import ArtefactMissing


class Command(BaseCommand):
    help = ("Score the active NLU model on a labelled CSV (text,intent,budget_amount,"
            "budget_currency): intent precision, recall, F1, accuracy, budget accuracy, speed.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="Print one JSON object instead of the report.")

    def handle(self, *args, file: Path, as_json: bool, **options):
        try:
            examples = read_file(file)
        except CorpusError as exc:
            raise CommandError(str(exc)) from exc
        if not examples:
            raise CommandError(f"{file.name} has a header but no messages.")
        try:
            evaluation = evaluate(examples, nlu.analyze)
        except ArtefactMissing as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(json.dumps(evaluation.as_json()))
            return
        for line in report_lines(evaluation):
            self.stdout.write(line)
