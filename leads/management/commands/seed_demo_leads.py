"""Give the demo tenant a realistic spread of leads, once: a newcomer's `make run` opens on a
dashboard with HOT, WARM and COLD leads, a merged duplicate, and HOT leads whose
5-minute first-response target runs out while they look around."""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from flexoraa.actors import Actor
from flexoraa.models import Organization
from leads import services
from leads.models import Lead, Source

DEMO_LEADS = [
    # name, phone, email, source, need, budget, authority, timeline
    ("Aarav Mehta", "98200 11001", "aarav@mehtatextiles.in", Source.WHATSAPP,
     "CRM for 25 reps, want to start this week", Decimal("450000"), "decision_maker",
     "immediate"),
    ("Diya Kapoor", "98200 11002", "diya@kapoorfoods.in", Source.INSTAGRAM,
     "Lead routing for our franchise network", Decimal("180000"), "decision_maker", "month"),
    ("Rohan Gupta", "98200 11003", "", Source.WEB_FORM,
     "Comparing tools for next quarter", Decimal("60000"), "influencer", "quarter"),
    ("Ishita Sharma", "", "ishita@brightlearn.co", Source.GMAIL,
     "Need WhatsApp automation", Decimal("120000"), "influencer", "month"),
    ("Kabir Singh", "98200 11005", "", Source.MESSENGER, "", None, "", ""),
    ("Ananya Reddy", "98200 11006", "ananya@reddyrealty.in", Source.API,
     "Inbox for 8 agents", Decimal("95000"), "decision_maker", "quarter"),
    ("Vivaan Joshi", "98200 11007", "", Source.WHATSAPP, "Just browsing", None, "user", "later"),
    ("Meera Iyer", "", "meera@iyerclinics.in", Source.WEB_FORM,
     "Appointment booking from chat", Decimal("2500"), "decision_maker", "immediate"),
    ("Arjun Nair", "98200 11009", "arjun@nairlogistics.in", Source.CSV_IMPORT, "", None, "",
     ""),
    ("Sara Khan", "98200 11010", "sara@khanexports.in", Source.WHATSAPP,
     "Scoring and SLA alerts for a 40-person team", Decimal("900000"), "decision_maker",
     "immediate"),
]


SEED_ACTOR = Actor.system("command:seed_demo_leads")


class Command(BaseCommand):
    help = "Add demo leads to the demo tenant (run seed_demo first); does nothing if it has any."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo", help="The tenant's slug (default: demo).")

    def handle(self, *args, org: str, **options):
        tenant = Organization.objects.filter(slug=org).first()
        if tenant is None:
            raise CommandError(f"No organization with the slug '{org}'; run seed_demo first.")
        if Lead.objects.for_org(tenant).exists():
            self.stdout.write(f"'{tenant.name}' already has leads; left as they are.")
            return
        for name, phone, email, source, need, budget, authority, timeline in DEMO_LEADS:
            services.lead_intake(
                org=tenant, source=source, actor=SEED_ACTOR,
                data=services.LeadInput(
                    name=name, phone=phone, email=email, need=need, budget_amount=budget,
                    budget_currency="INR" if budget is not None else "",
                    authority=authority, timeline=timeline,
                ),
            )
        # A duplicate from another channel merges into Aarav's lead.
        services.lead_intake(org=tenant, source=Source.WEB_FORM, actor=SEED_ACTOR,
                             data=services.LeadInput(phone="+91 98200 11001",
                                                     email="aarav.m@gmail.com"))
        # One reply on time; the HOT leads left unanswered breach their 5-minute target
        # while the newcomer looks around, and the SLA check escalates them.
        first = Lead.objects.for_org(tenant).order_by("pk").first()
        services.lead_mark_first_response(org=tenant, lead=first, actor=SEED_ACTOR)
        count = Lead.objects.for_org(tenant).count()
        self.stdout.write(f"Added {count} demo leads to '{tenant.name}'.")
