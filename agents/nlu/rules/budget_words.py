"""The budget reader's vocabulary (pure data and patterns, no ORM, no model).

Devanagari spellings read as their Latin equivalents, multipliers (k, lakh, crore …), number
and fraction words, currency words, the nouns a number counts when it is not money, the
context words that make an amount the lead's spend or someone else's figure, and the period
words ("20k/month", "mahine ka 20k").
"""

import re
import unicodedata
from decimal import Decimal

DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_DEVANAGARI_WORDS = {
    "लाख": "lakh", "करोड़": "crore", "करोड": "crore", "हज़ार": "hazar", "हजार": "hazar",
    "सौ": "sau", "रुपये": "rupees", "रुपए": "rupees", "रुपया": "rupees", "रु": "rs",
    "बजट": "budget", "तक": "tak", "डेढ़": "dedh", "डेढ": "dedh", "ढाई": "dhai", "सवा": "sawa",
    "पौने": "paune", "साढ़े": "saadhe", "साढे": "saadhe", "एक": "ek", "दो": "do", "तीन": "teen",
    "चार": "char", "पांच": "paanch", "पाँच": "paanch", "छह": "chhe", "छः": "chhe", "सात": "saat",
    "आठ": "aath", "नौ": "nau", "दस": "das", "बारह": "barah", "पंद्रह": "pandrah", "बीस": "bees",
    "पच्चीस": "pachees", "तीस": "tees", "पैंतीस": "paintees", "चालीस": "chalis",
    "पचास": "pachas", "साठ": "sixty", "सत्तर": "seventy", "अस्सी": "eighty", "नब्बे": "ninety",
    "कवर": "cover", "बिल": "bill", "लोन": "loan", "सैलरी": "salary", "वेतन": "salary",
    "तनख्वाह": "salary", "कोटेशन": "quotation", "था": "tha", "थी": "tha", "थे": "tha",
    "बताया": "bataya", "बोला": "bola", "बोल": "bol", "रद्द": "cancelled", "महीना": "mahina",
    "महीने": "mahine", "माह": "mahina", "मासिक": "monthly", "साल": "saal", "सालाना": "salana",
    "वार्षिक": "yearly", "हफ्ते": "hafte", "हफ़्ते": "hafte", "हफ्ता": "hafta", "सप्ताह": "hafta",
    "रोज़": "roz", "रोज": "roz", "प्रतिदिन": "daily", "प्रति": "per", "दिन": "din", "का": "ka",
    "के": "ke", "की": "ki", "से": "se", "ज़्यादा": "zyada", "ज्यादा": "zyada", "ऊपर": "upar",
    "अधिक": "adhik", "नहीं": "nahi", "सकते": "sakte", "सकता": "sakta", "सकती": "sakti",
    "दे": "de", "देंगे": "denge", "दूंगा": "dunga", "हमारे": "humare", "पास": "paas",
    "मंज़ूर": "approved", "मंजूर": "approved", "खर्च": "kharch", "दिए": "diye", "दिया": "diya",
    "वाला": "wala", "वाले": "wale", "वाली": "wali", "कट": "kat", "गए": "gaye", "गया": "gaya",
    "किए": "kiye", "किये": "kiye", "किया": "kiya",
    "इनाम": "prize", "लॉटरी": "lottery", "ले": "le", "लिया": "liya", "है": "hai", "हैं": "hain",
    "आपका": "aapka", "आपकी": "aapki", "आपके": "aapke", "दूसरे": "dusre", "दूसरी": "dusri",
}
_NUKTA_FORMS = {"ज़": "\u095b", "ड़": "\u095c", "ढ़": "\u095d", "फ़": "\u095e", "क़": "\u0958",
                "ख़": "\u0959", "ग़": "\u095a"}


def _devanagari_spellings() -> dict[str, str]:
    """Each word with its nukta letters both composed and decomposed, as both are typed."""
    spellings = {}
    for word, roman in _DEVANAGARI_WORDS.items():
        decomposed = unicodedata.normalize("NFD", word)
        spellings[decomposed] = roman
        precomposed = decomposed
        for pair, single in _NUKTA_FORMS.items():
            precomposed = precomposed.replace(unicodedata.normalize("NFD", pair), single)
        spellings[precomposed] = roman
        spellings[word] = roman
    return spellings


DEVANAGARI_SPELLINGS = _devanagari_spellings()

MULTIPLIERS = {
    "k": 1_000, "thousand": 1_000, "thousands": 1_000, "hazar": 1_000, "hazaar": 1_000,
    "hajar": 1_000, "hzr": 1_000, "thou": 1_000, "hundred": 100, "sau": 100,
    "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000, "lacks": 100_000,
    "lk": 100_000, "lkh": 100_000, "l": 100_000,
    "crore": 10_000_000, "crores": 10_000_000, "cr": 10_000_000, "crs": 10_000_000,
    "million": 1_000_000, "mn": 1_000_000, "mil": 1_000_000,
    "ayiram": 1_000, "aayiram": 1_000, "velu": 1_000,  # Tamil and Telugu thousands
}

# Words standing for a number before a multiplier: "dedh lakh", "two lakh", "ek crore".
WORD_NUMBERS = {
    "half": Decimal("0.5"), "aadha": Decimal("0.5"), "adha": Decimal("0.5"),
    "sawa": Decimal("1.25"), "sava": Decimal("1.25"), "savaa": Decimal("1.25"),
    "sawaa": Decimal("1.25"), "dedh": Decimal("1.5"), "derh": Decimal("1.5"),
    "dhai": Decimal("2.5"), "dhaai": Decimal("2.5"), "dhayi": Decimal("2.5"),
    "paune": Decimal("0.75"), "one": 1, "ek": 1, "a": 1, "two": 2, "do": 2, "three": 3,
    "teen": 3, "four": 4, "char": 4, "chaar": 4, "five": 5, "paanch": 5, "panch": 5,
    "six": 6, "chhe": 6, "chhah": 6, "seven": 7, "saat": 7, "eight": 8, "aath": 8, "nine": 9,
    "nau": 9, "ten": 10, "das": 10, "twelve": 12, "barah": 12, "fifteen": 15, "pandrah": 15,
    "twenty": 20, "bees": 20, "twenty-five": 25, "pachees": 25, "thirty": 30, "tees": 30,
    "paintees": 35, "forty": 40, "chalis": 40, "fifty": 50, "pachas": 50, "pachaas": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
# Before another number these shift it: "sawa do" 2.25, "saadhe teen" 3.5, "paune do" 1.75
# (a quarter less than the number that follows).
FRACTION_WORDS = {
    "sawa": Decimal("0.25"), "sava": Decimal("0.25"), "savaa": Decimal("0.25"),
    "sawaa": Decimal("0.25"), "saadhe": Decimal("0.5"), "sadhe": Decimal("0.5"),
    "saade": Decimal("0.5"), "paune": Decimal("-0.25"),
}

CURRENCY_WORDS = {
    "₹": "INR", "rs": "INR", "inr": "INR", "rupees": "INR", "rupee": "INR", "rupaye": "INR",
    "rupay": "INR", "rupiya": "INR", "rupaiya": "INR", "/-": "INR",
    "$": "USD", "usd": "USD", "dollars": "USD", "dollar": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "pounds": "GBP", "pound": "GBP",
    "aed": "AED", "dirham": "AED", "dirhams": "AED", "sgd": "SGD", "aud": "AUD", "cad": "CAD",
}

# What a number counts when it is not money.
COUNT_NOUNS = {
    "user", "users", "seat", "seats", "licence", "licences", "license", "licenses", "agent",
    "agents", "people", "person", "persons", "log", "logon", "logo", "member", "members",
    "employee", "employees", "staff", "rep", "reps", "sdr", "sdrs", "day", "days", "din",
    "week", "weeks", "hafte", "hafta", "month", "months", "mahine", "mahina", "year", "years",
    "saal", "yr", "yrs", "token", "tokens", "message", "messages", "msg", "msgs", "lead",
    "leads", "call", "calls", "student", "students", "bacche", "bachche", "room", "rooms",
    "bhk", "sqft", "sq", "km", "kms", "kg", "kgs", "percent", "%", "pm", "am", "baje",
    "minutes", "minute", "mins", "min", "hours", "hour", "hrs", "hr", "ghante", "ghanta",
    "times", "baar", "branch", "branches", "location", "locations", "outlet", "outlets",
    "store", "stores", "shop", "shops", "unit", "units", "pcs", "pieces", "product",
    "products", "clinic", "clinics", "doctor", "doctors", "patients", "patient", "bed", "beds",
    "car", "cars", "vehicle", "vehicles", "flat", "flats", "plot", "plots", "guest", "guests",
    "pax", "nights", "night", "floor", "floors", "th", "st", "nd", "rd", "gb", "mb", "tb",
    "class", "classes", "batch", "batches", "team", "teams", "account", "accounts",
    "number", "numbers", "contacts", "contact", "followers", "sites", "pages", "page",
    "emails", "email", "sms", "orders", "order", "tickets", "ticket", "slots", "slot",
    "rows", "records", "enquiries", "enquiry", "inquiries", "queries", "clients", "customers",
    "sku", "skus", "invoices", "boxes", "cartons", "uniforms", "hampers", "roses", "trainees",
    "plus", "cans", "bags", "sets", "workstations", "desks", "tiffin", "tiffins",
    "subscribers", "box", "copies", "catalogues", "metres", "meters",
    "लोग", "लोगों", "लोगो", "व्यक्ति", "कर्मचारी", "सदस्य", "बच्चे", "बच्चों", "कमरे", "पीस",
}

NO_BUDGET = re.compile(
    r"\b(no|zero|nil|without( a)?|koi)\s+budget\b|\bbudget\s+(is\s+)?(nahi|nhi|nai|zero|nil|"
    r"not\s+(decided|fixed|approved|there)|abhi\s+(decide|fix)\s+nahi)"
)


# The words around an amount that make it the lead's spend, or someone else's figure. They
# are read in the amount's own clause, a few words either side and never past a neighbouring
# amount; when both kinds are there, the nearer decides ("competitor ne 1.2 lakh quote kiya,
# hum 1 lakh max denge"), and a tie is someone else's.
def _cues(*alternatives: str) -> re.Pattern:
    return re.compile(r"\b(" + "|".join(alternatives) + r")\b")


SPEND_BEFORE = _cues(
    r"budget\w*", "bajat", r"afford\w*", "invest", r"kharch\w*", r"up\s?to", "under", "below",
    "within", "less than", r"max(imum)?", "limit", r"cap(ped)?", "ceiling", "at most",
    "not more than", "no more than", "nothing above", "zyada se zyada", "jyada se jyada",
    "kam se kam", "between", "range", "spend", r"(we|i|we've|i've)\s+(have|got)",
    r"(humare|hamare|mere|apne)\s+paas", "set aside", "kept aside", "earmarked", "allocated",
    "approved", "sanctioned", r"signed off( on)?", "ready", "closer to", "thinking", "socha",
    "counter", "premium", "emi",
    r"(can|could|will|would|'ll|ll|'d|d|to|shall|might|may|only|probably|maybe)\s+(pay|do|go|"
    r"offer|give|manage|stretch|invest|put|allocate|land|reach)",
    r"(if you|you can|can you|agar aap)\s+(do|make it|kar do|karo)",
    r"(bas|sirf)(?=\W*$)",
    # "can't pay more than 2000", "won't go above 5 lakh": a cap
    r"(can'?t|cannot|won'?t|will not|not|no|nothing)\s+(\w+\s+){0,2}(more than|above|over|"
    r"beyond)",
    # a counter-offer: "do it in 1.4", "deal at 72"
    r"(do|kar|karo|karein|final|deal|close|done|book|sign)\s+(it\s+)?(in|at|for)",
)
SPEND_AFTER = _cues(
    "tak", "max", "maximum", "only", "budget", "denge", "dunga", "dungi", "chalega",
    "chal jayega", "ho jayega", "ho jaega", "ready", "approved", "sanctioned", "cash",
    "instead", "is fine", "works", "is ok", "theek", "kharch", "set aside", r"rakh[ae]",
    "manage", "to spend", "to invest", r"afford\w*", "ke andar", "limit", "cap", "ceiling",
    "range", "varaikum", "varaku", "is all", r"is what (we|i)",
    r"se (zyada|jyada|jada|upar|uper|adhik|aage) (ek (rupaya|rupya|paisa) )?(nahi|nhi|na)",
    r"(is|was) (our|my|the) (max|maximum|limit|cap|ceiling|budget)",
    r"(de|dena|pay kar) (sakte|sakta|sakti|payenge|paunga|paungi)",
    r"(mein|me|main|m) (kar\w*|final|ho|de|karwa\w*|chahiye|mil\w*|dikha\w*)",
    r"(hai|h|he) (humare|hamare|mere) paas",
    r"per (plate|head|person|pax|night|session|class|kg)",
)
OTHER_BEFORE = _cues(
    r"quoted?", "quoting", "quotation", "quotes", "estimate", r"charg\w*", "priced", "mrp",
    r"costs? us", "costs", r"price (is|was|of)", r"rate (is|was)", r"fees? (is|was|of)",
    r"you'?re at", "you are at", "you said", "you mentioned", "told", "aapne", "apne", "aapka",
    "apka", "aapki", "apki", "aapke", "apke", "your", "ur", "unka", "unki", "unke",
    r"competitor\w*", "vendor", "agency", "dealer", "supplier", r"dusr\w*", r"doosr\w*",
    "another", "other", "previous", r"pichl\w*", r"last (vendor|agency|year|time|lab|quarter)",
    "paid", "transferred", "payment of", "spent", "spending", "neft", "rtgs", "upi",
    "kar diya", "le liya", "liya", "bought", "purchased", "refund", r"overcharge\w*", "bill",
    r"(we|i|they|currently|already|now)\s+(spend|are spending|am spending)",
    r"used to (spend|pay)", r"we pay", "paying", r"why would (i|we) pay",
    r"can'?t afford", "cannot afford", "not afford", "afford nahi", r"(don'?t|do not|dont) need",
    "come to", "comes to", "currently", "current", r"renewal (was|is)", "included in",
    "on the", r"(extra|gst|tax) on", "already", "salary", "salery", "ctc", "income",
    r"earn\w*", "kamata", "kamati",
    r"kamaa\w*", "kamao", "kamaye", "kamaiye", "turnover", "revenue", "sales", "deal size",
    "ticket size", "loan", r"cover(age)?", "sum insured", "idv", "worth", "won", "prize",
    "lottery", r"sell\w*", "offering", r"starting (at|from)", "starts at", "start at",
    r"(at|for) just", r"(we|i) (offer|provide|supply|sell|make)",
    r"(services|service|packages|plans) (at|for|from|starting)", "lost", "wasted", r"burn\w*",
    "plan is", "sun ke", "hearing", "expected", "instead of", "shows", "says",
    r"(you|they|he|she|agent|executive|team|website|site|app) (said|says|mentioned|told)",
    "listed", "likha", "written", r"now it'?s", "save", "saving", r"signs? off",
    "expense over",
)
OTHER_AFTER = _cues(
    "quote", "quoted", "quotation", "estimate", "mrp", "bill", "loan", "cover", "coverage",
    "insurance", "salary", "ctc", "turnover", "revenue", "sum insured", "idv", "in sales",
    "prize", "payout", "income", "last year", "pichle saal", "subscribers", "followers",
    "lagta", "lagte", "lagti", "possible nahi", "not possible", "nahi ho payega",
    r"(humare|hamare|mere|our) liye", "already paid", r"overcharge\w*",
    r"kharch (kiye|kiya|ho gaye|hue)", r"(the )?final price", "is for", r"bol (raha|rahe|rahi)",
    "bola", "bataya", r"keh (raha|rahe)", "charge", "le liya", r"de (diya|diye)", "diye",
    "diya", r"bhej (diya|diye)", "kar diya", r"kat (gaye|gaya)", "chala gaya", "chale gaye",
    "lag gaya", "went", r"feels? steep", r"too (much|high|expensive|costly)", "bahut", "bohot",
    r"is (too|way|over|more|above|higher|steep|a lot|ridiculous|the final)",
    r"(zyada|jyada|mehenga|mehnga|costly|expensive|steep) (hai|h|he|lag\w*)", "over our",
    "above our", r"per (review|lead|sms|message|minute)", "wasted", "lost", "was for",
    r"(me|mein) (de diya|le liya|karwa liya|kar diya|same)", "jaati", "jata", "jaata",
    "ourselves",
)
# Straight after the amount only: "40 lakh wala flat" is a price named, "40k karo" a counter.
SPEND_NEXT = re.compile(r"^\W*(karo|kar do|kardo|kar dijiye)\b")
OTHER_NEXT = re.compile(
    r"^\W*(rs|rupees|inr|/-)?\W*((wala|wale|wali|waala|waale)|"
    r"nahi (dunga|denge|dena|de sakte|de sakta|de payenge)|"
    r"(already )?(paid|transferred|sent|pay kiya|pay kar diya))\b")
# A bare number followed by one of these is still money ("5000 tak", "2000 se zyada nahi");
# followed by any other word it counts something ("100 custom mugs", "300 copies").
BARE_FOLLOWERS = {
    "only", "tak", "max", "maximum", "budget", "se", "ka", "ki", "ke", "hai", "h", "he", "is",
    "was", "for", "per", "a", "an", "to", "and", "or", "me", "mein", "mai", "main", "m",
    "instead", "chalega", "de", "dena", "denge", "dunga", "ready", "cash", "approved",
    "sanctioned", "limit", "cap", "range", "ho", "kar", "karo", "ya", "rupees", "rs", "inr",
    "if", "with", "this", "we", "i", "but", "par", "hi", "bhi", "total", "all", "in", "on",
    "at", "so", "then", "toh", "fine", "ok", "okay", "works", "mahina", "mahine", "monthly",
    "yearly", "annually", "pm", "pa", "saal", "salana", "approx", "around", "plus", "lagbhag",
    "tha", "the", "thi", "andar", "upto", "no", "nahi", "theek", "kharch", "sakte", "sakta",
    "sakti", "it", "that", "will", "would", "can", "could", "should", "as", "tk", "hain",
    "varaikum", "varaku",
}
# A budget that no longer exists: these say so on their own ...
GONE = re.compile(
    r"\b(got used|used elsewhere|used up|got cut|was cut|got cancelled|fell through|lapsed|"
    r"was frozen|got frozen|redirected|went into|took all|spent (it|on)|chala gaya|"
    r"chale gaye|lag gaya|nahi raha|nhi raha)\b")
# ... and these when the budget is in the past ("we had 2 lakh but the launch got scrapped").
CANCELLED = re.compile(
    r"\b(cancel|cancelled|canceled|dropped|drop kar|killed|shelved|scrapped|went into|cut|"
    r"frozen|pulled|lapsed|redirected|gone|went to|took all|fell through|used elsewhere|"
    r"spent (it|on)|chala gaya|chale gaye|lag gaya|nahi raha|nhi raha|mana kar|khatam|"
    r"rejected|drop it|in-house|ab (wo|woh) bhi nahi|ab nahi|no longer|"
    r"not anymore)\b"
)
# "the" is English far more often than the Hinglish "were", so it is not read as past.
PAST = re.compile(r"\b(tha|thi|had|was|were|rakha|rakhe|rakhi|pencilled)\b")

# Words before a bare number that make it an id, not money.
ID_BEFORE = re.compile(
    r"\b(number|no|num|nos|pin|pincode|pin code|order|id|ref|utr|txn|invoice|ticket|"
    r"flat|room|plot|sector|house|gali|ward|stall|code|otp|account|a/c)\W*(no\W*)?"
    r"(is|hai|h)?\W*(\+?\d[\d ]*)?$|\+91[\d ]*$")

# After an amount with a currency or a multiplier, a period is per period ("20k/month"),
# not a count of them.
PERIODS_AFTER = {"month", "months", "mahina", "mahine", "year", "years", "saal", "week",
                 "weeks", "day", "days", "din", "yr", "yrs", "annum", "mo"}

# Periods, after an amount ("20k/month", "6 hazar mahina", "5 lakh per annum") or before it
# ("mahine ka 20k", "monthly 25k", "महीने के 40 हज़ार").
PERIOD_WORDS = {
    "month": "month", "months": "month", "mo": "month", "mon": "month", "mnth": "month",
    "monthly": "month", "mahina": "month", "mahine": "month", "mahinay": "month",
    "maheena": "month", "pm": "month", "p.m": "month", "p.m.": "month",
    "year": "year", "years": "year", "yr": "year", "yrs": "year", "annum": "year",
    "annually": "year", "yearly": "year", "annual": "year", "pa": "year", "p.a": "year",
    "p.a.": "year", "saal": "year", "salana": "year", "saalana": "year",
    "week": "week", "weeks": "week", "wk": "week", "weekly": "week", "hafta": "week",
    "hafte": "week",
    "day": "day", "days": "day", "daily": "day", "din": "day", "roz": "day", "rozana": "day",
}
PERIOD_AFTER = re.compile(
    r"^\s*(?:(?:rs|rupees|inr|usd|dollars|eur|euros|gbp|aed|/-)\s*)?(?:only\s+)?"
    r"(?:(?:a|an|per|every|each|har|ek|/|in a|ka|ke)\s*)?"
    r"(?P<word>p\.a\.?|p\.m\.?|[a-z]+)(?:\s+(?:ka|ke|ki|tak))?\b"
)
PERIOD_BEFORE = re.compile(
    r"(?:^|[^\d\s]\s*|\s)(?P<phrase>(?:per|every|har|each)\s+(?P<w1>[a-z]+)|(?P<w2>[a-z]+)"
    r"(?:\s+(?:ka|ke|ki|budget|budget is|budget of|spend|spend of|of|is))?)\s*:?\s*$"
)
# Period words that say "per" on their own ("10k monthly"); the others need "a" or "per" before
# them, or "20k for 2 months" would read as per month.
ADVERB_PERIODS = {"monthly", "yearly", "annually", "annual", "weekly", "daily", "salana",
                  "saalana", "rozana", "pm", "p.m", "p.m.", "pa", "p.a", "p.a."}

TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9}
