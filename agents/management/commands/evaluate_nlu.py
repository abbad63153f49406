import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agents import nlu
from agents.nlu.corpus import INTENTS, CorpusError, read_file
from agents.nlu.evaluation import evaluate, report_lines
from agents.nlu.model import ArtefactMissing
from agents.services.receiving import Received, message_read
from flexoraa.models import Organization
from leads import services as lead_services

TIERS = ("hot", "warm", "cold")


class Command(BaseCommand):
    help = ("Score the active NLU model on a labelled CSV (text,intent,budget_amount,"
            "budget_currency): intent precision, recall, F1, accuracy, budget accuracy, speed.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="Print one JSON object instead of the report.")
        parser.add_argument(
            "--first-touch", action="store_true",
            help="Also say which tier each message would start a new WhatsApp lead in, by its "
                 "labelled intent (scored as intake scores a first message).")
        parser.add_argument("--org", default="",
                            help="With --first-touch: the tenant whose lead settings to use "
                                 "(its slug); the defaults otherwise.")

    def handle(self, *args, file: Path, as_json: bool, first_touch: bool = False, org: str = "",
               **options):
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
        tiers = first_touch_tiers(examples, _tenant(org)) if first_touch else None
        if as_json:
            found = evaluation.as_json()
            if tiers is not None:
                found["first_touch"] = tiers
            self.stdout.write(json.dumps(found))
            return
        for line in report_lines(evaluation):
            self.stdout.write(line)
        if tiers is not None:
            for line in first_touch_lines(tiers):
                self.stdout.write(line)


def _tenant(slug: str) -> Organization:
    if not slug:
        return Organization(name="defaults", country="IN")
    found = Organization.objects.filter(slug=slug).first()
    if found is None:
        raise CommandError(f"No organization has the slug '{slug}'.")
    return found


def first_touch_tiers(examples, org: Organization) -> dict[str, dict[str, int]]:
    """How many messages of each labelled intent would start a new WhatsApp lead in each
    tier: read as a webhook's message is read, scored as intake scores it."""
    now = timezone.now()
    counts = {intent: {tier: 0 for tier in TIERS} for intent in INTENTS}
    for n, example in enumerate(examples):
        received = Received(provider_message_id=f"report-{n}", at=now, body=example.text)
        reading = message_read(received, org).for_lead(now)
        tier = lead_services.first_touch_score(org=org, source="whatsapp",
                                               reading=reading).tier
        counts[example.intent][tier] += 1
    return counts


def first_touch_lines(counts: dict[str, dict[str, int]]) -> list[str]:
    lines = ["", "First touch (a new WhatsApp lead's tier, by labelled intent):",
             f"  {'intent':<8}" + "".join(f"{tier.upper():>8}" for tier in TIERS)]
    for intent, by_tier in counts.items():
        total = sum(by_tier.values())
        if not total:
            continue
        lines.append(f"  {intent:<8}" + "".join(
            f"{by_tier[tier] / total:>8.0%}" for tier in TIERS) + f"   (n={total})")
    high = counts["high"]
    if sum(high.values()):
        lines.append(f"  high-intent messages starting HOT: "
                     f"{high['hot'] / sum(high.values()):.1%}; low-intent starting HOT: "
                     f"{counts['low']['hot']}")
    return lines
