"""Budget extraction from a lead's message (pure, no ORM, no model).

The most the lead says it will spend, by the label guide: Indian notation (k, thousand, hazar,
lakh / lac / L, crore / cr), words and digits mixed ("2 lakh 40 thousand"), the Hindi fraction
words (sawa 1.25, dedh 1.5, dhai 2.5, saadhe +0.5, paune = a quarter less than the next number)
in Latin letters and Devanagari, Indian and Western digit grouping, ₹ / Rs / INR, $ / USD,
€ / EUR, £ / GBP, AED; a range or a cap gives its upper bound; a per-period figure is taken as
stated, and its period ("day", "week", "month", "year") is reported beside it. Counts of seats,
users, tokens, days or people are not budgets, and neither are times, dates, phone numbers,
years or percentages.

When a message holds several amounts, the budget is the one the lead says it will spend: a
price it was quoted, ours quoted back, a competitor's, money already paid, an insurance cover,
a loan amount, a salary or a turnover is someone else's figure, not a budget.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

DEFAULT_CURRENCY = "INR"
PERIODS = ("day", "week", "month", "year")


@dataclass(frozen=True)
class Budget:
    amount: Decimal
    currency: str
    period: str = ""  # "" (one-off or not said) or one of PERIODS
    phrase: str = ""  # the lead's own words for the amount, a substring of the message


_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
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


_DEVANAGARI_SPELLINGS = _devanagari_spellings()
# Whole words only: "दो" is two, but not the start of "दोस्त".
_REWRITES = re.compile(
    r"(?P<dev>(?<![\u0900-\u097f])(?:"
    + "|".join(sorted(map(re.escape, _DEVANAGARI_SPELLINGS), key=len, reverse=True))
    + r")(?![\u0900-\u097f]))"
    # "60-80k", "90k-1L", "40k ~ 60k": a range, never a minus or an id.
    r"|(?P<dash>(?:(?<=\d)|(?<=\d[kKlL]))\s*[-\u2013~]\s*(?=[₹$€£]?\d))"
    r"|(?P<rs>(?<![a-z])(?i:r\.\s?s\.|rs\.))"
)

_MAY_REWRITE = re.compile(r"[\u0900-\u097f]|[-\u2013~]|(?i:r\.)")

_MULTIPLIERS = {
    "k": 1_000, "thousand": 1_000, "thousands": 1_000, "hazar": 1_000, "hazaar": 1_000,
    "hajar": 1_000, "hzr": 1_000, "thou": 1_000, "hundred": 100, "sau": 100,
    "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000, "lacks": 100_000,
    "lk": 100_000, "lkh": 100_000, "l": 100_000,
    "crore": 10_000_000, "crores": 10_000_000, "cr": 10_000_000, "crs": 10_000_000,
    "million": 1_000_000, "mn": 1_000_000, "mil": 1_000_000,
    "ayiram": 1_000, "aayiram": 1_000, "velu": 1_000,  # Tamil and Telugu thousands
}

# Words standing for a number before a multiplier: "dedh lakh", "two lakh", "ek crore".
_WORD_NUMBERS = {
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
_FRACTION_WORDS = {
    "sawa": Decimal("0.25"), "sava": Decimal("0.25"), "savaa": Decimal("0.25"),
    "sawaa": Decimal("0.25"), "saadhe": Decimal("0.5"), "sadhe": Decimal("0.5"),
    "saade": Decimal("0.5"), "paune": Decimal("-0.25"),
}

_CURRENCY_WORDS = {
    "₹": "INR", "rs": "INR", "inr": "INR", "rupees": "INR", "rupee": "INR", "rupaye": "INR",
    "rupay": "INR", "rupiya": "INR", "rupaiya": "INR", "/-": "INR",
    "$": "USD", "usd": "USD", "dollars": "USD", "dollar": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "pounds": "GBP", "pound": "GBP",
    "aed": "AED", "dirham": "AED", "dirhams": "AED", "sgd": "SGD", "aud": "AUD", "cad": "CAD",
}

# What a number counts when it is not money.
_COUNT_NOUNS = {
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

_NO_BUDGET = re.compile(
    r"\b(no|zero|nil|without( a)?|koi)\s+budget\b|\bbudget\s+(is\s+)?(nahi|nhi|nai|zero|nil|"
    r"not\s+(decided|fixed|approved|there)|abhi\s+(decide|fix)\s+nahi)"
)

_NUMBER = r"\d+(?:[.,]\d+)*"
_TOKEN = re.compile(
    rf"(?P<num>{_NUMBER})(?P<suffix>[a-z]+)?|(?P<word>[a-z\u00c0-\u024f\u0900-\u097f'-]+)"
    r"|(?P<sym>[₹$€£%]|/-)"
)

# The words around an amount that make it the lead's spend, or someone else's figure. They
# are read in the amount's own clause, a few words either side and never past a neighbouring
# amount; when both kinds are there, the nearer decides ("competitor ne 1.2 lakh quote kiya,
# hum 1 lakh max denge"), and a tie is someone else's.
def _cues(*alternatives: str) -> re.Pattern:
    return re.compile(r"\b(" + "|".join(alternatives) + r")\b")


_SPEND_BEFORE = _cues(
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
_SPEND_AFTER = _cues(
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
_OTHER_BEFORE = _cues(
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
_OTHER_AFTER = _cues(
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
_SPEND_NEXT = re.compile(r"^\W*(karo|kar do|kardo|kar dijiye)\b")
_OTHER_NEXT = re.compile(
    r"^\W*(rs|rupees|inr|/-)?\W*((wala|wale|wali|waala|waale)|"
    r"nahi (dunga|denge|dena|de sakte|de sakta|de payenge)|"
    r"(already )?(paid|transferred|sent|pay kiya|pay kar diya))\b")
# A bare number followed by one of these is still money ("5000 tak", "2000 se zyada nahi");
# followed by any other word it counts something ("100 custom mugs", "300 copies").
_BARE_FOLLOWERS = {
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
_GONE = re.compile(
    r"\b(got used|used elsewhere|used up|got cut|was cut|got cancelled|fell through|lapsed|"
    r"was frozen|got frozen|redirected|went into|took all|spent (it|on)|chala gaya|"
    r"chale gaye|lag gaya|nahi raha|nhi raha)\b")
# ... and these when the budget is in the past ("we had 2 lakh but the launch got scrapped").
_CANCELLED = re.compile(
    r"\b(cancel|cancelled|canceled|dropped|drop kar|killed|shelved|scrapped|went into|cut|"
    r"frozen|pulled|lapsed|redirected|gone|went to|took all|fell through|used elsewhere|"
    r"spent (it|on)|chala gaya|chale gaye|lag gaya|nahi raha|nhi raha|mana kar|khatam|"
    r"rejected|drop it|in-house|ab (wo|woh) bhi nahi|ab nahi|no longer|"
    r"not anymore)\b"
)
# "the" is English far more often than the Hinglish "were", so it is not read as past.
_PAST = re.compile(r"\b(tha|thi|had|was|were|rakha|rakhe|rakhi|pencilled)\b")
# A quoted reply or forwarded mail holds our words or someone else's, never the lead's budget.
_QUOTED = re.compile(r"(?i)^\s*>.*$|(-{3,}\s*forwarded message|-{3,}\s*original message|"
                     r"\bon .{4,60} wrote:)[\s\S]*", re.MULTILINE)

# Words before a bare number that make it an id, not money.
_ID_BEFORE = re.compile(
    r"\b(number|no|num|nos|pin|pincode|pin code|order|id|ref|utr|txn|invoice|ticket|"
    r"flat|room|plot|sector|house|gali|ward|stall|code|otp|account|a/c)\W*(no\W*)?"
    r"(is|hai|h)?\W*(\+?\d[\d ]*)?$|\+91[\d ]*$")
_RANGE_JOINER = re.compile(
    r"\s*(to|and|se|or|till|upto|-)?\s*(₹|\$|€|£|rs|inr|usd|aed|eur|gbp)?\s*")
# After an amount with a currency or a multiplier, a period is per period ("20k/month"),
# not a count of them.
_PERIODS_AFTER = {"month", "months", "mahina", "mahine", "year", "years", "saal", "week",
                  "weeks", "day", "days", "din", "yr", "yrs", "annum", "mo"}
# A phone number, even split in groups ("98201 44567", "080-4112-7788"), is never an amount.
_PHONE = re.compile(r"(?<![\w.,])(\+\d{1,3}[\s-]?)?\d{2,5}([\s-]\d{2,5}){1,3}(?![\w.,])")

# Periods, after an amount ("20k/month", "6 hazar mahina", "5 lakh per annum") or before it
# ("mahine ka 20k", "monthly 25k", "महीने के 40 हज़ार").
_PERIOD_WORDS = {
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
_PERIOD_AFTER = re.compile(
    r"^\s*(?:(?:rs|rupees|inr|usd|dollars|eur|euros|gbp|aed|/-)\s*)?(?:only\s+)?"
    r"(?:(?:a|an|per|every|each|har|ek|/|in a|ka|ke)\s*)?"
    r"(?P<word>p\.a\.?|p\.m\.?|[a-z]+)(?:\s+(?:ka|ke|ki|tak))?\b"
)
_PERIOD_BEFORE = re.compile(
    r"(?:^|[^\d\s]\s*|\s)(?P<phrase>(?:per|every|har|each)\s+(?P<w1>[a-z]+)|(?P<w2>[a-z]+)"
    r"(?:\s+(?:ka|ke|ki|budget|budget is|budget of|spend|spend of|of|is))?)\s*:?\s*$"
)
# Period words that say "per" on their own ("10k monthly"); the others need "a" or "per" before
# them, or "20k for 2 months" would read as per month.
_ADVERB_PERIODS = {"monthly", "yearly", "annually", "annual", "weekly", "daily", "salana",
                   "saalana", "rozana", "pm", "p.m", "p.m.", "pa", "p.a", "p.a."}


@dataclass
class _Token:
    kind: str  # "num", "word", "sym"
    text: str
    value: Decimal | None = None
    start: int = 0
    end: int = 0


@dataclass
class _Text:
    """The message lowered, with Devanagari digits and money words in Latin, and for each of
    its characters the span of the message it came from (so the lead's words can be quoted)."""

    original: str
    normalized: str
    starts: list[int]
    ends: list[int]

    def source(self, start: int, end: int) -> str:
        if start >= end:
            return ""
        return self.original[self.starts[start]:self.ends[end - 1]].strip()


def _normalize(text: str) -> _Text:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def copy(start: int, end: int) -> None:
        chunk = text[start:end].translate(_DEVANAGARI_DIGITS).lower()
        if len(chunk) == end - start:
            out.append(chunk)
            starts.extend(range(start, end))
            ends.extend(range(start + 1, end + 1))
            return
        for i in range(start, end):  # a letter that lowers to two ("İ")
            lowered = text[i].translate(_DEVANAGARI_DIGITS).lower()
            out.append(lowered)
            starts.extend([i] * len(lowered))
            ends.extend([i + 1] * len(lowered))

    position = 0
    for match in _REWRITES.finditer(text) if _MAY_REWRITE.search(text) else ():
        copy(position, match.start())
        if match.group("dev"):
            replacement = f" {_DEVANAGARI_SPELLINGS[match.group('dev')]} "
        elif match.group("dash") is not None:
            replacement = " to "
        else:
            replacement = "rs "
        out.append(replacement)
        starts.extend([match.start()] * len(replacement))
        ends.extend([match.end()] * len(replacement))
        position = match.end()
    copy(position, len(text))
    return _Text(text, "".join(out), starts, ends)


def _parse_number(raw: str) -> Decimal | None:
    """"2,50,000", "250,000", "1.5", "1,25" (European decimals are rare here: a comma is a
    grouping when three digits or an Indian pair group follow)."""
    if re.fullmatch(r"\d{1,3}(,\d{2})*,\d{3}(\.\d+)?", raw) or re.fullmatch(
        r"\d{1,3}(,\d{3})+(\.\d+)?", raw
    ):
        raw = raw.replace(",", "")
    elif "," in raw:
        return None  # "5,6" is a list, not a number
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def _tokens(text: str) -> list[_Token]:
    found = []
    for match in _TOKEN.finditer(text):
        if match.group("num") is not None:
            raw = match.group("num").rstrip(".,")
            value = _parse_number(raw)
            found.append(_Token("num", raw, value, match.start(), match.start() + len(raw)))
            suffix = match.group("suffix")
            if suffix:
                found.append(_Token("word", suffix, None, match.end("num"), match.end()))
        elif match.group("word") is not None:
            found.append(_Token("word", match.group("word"), None, match.start(), match.end()))
        else:
            found.append(_Token("sym", match.group("sym"), None, match.start(), match.end()))
    return _fractions_merged(_tens_merged(found))


def _number_of(token: _Token | None) -> Decimal | None:
    if token is None:
        return None
    if token.kind == "num":
        return token.value
    if token.text in _WORD_NUMBERS and token.text not in _FRACTION_WORDS:
        return Decimal(_WORD_NUMBERS[token.text])
    return None


_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}


def _tens_merged(tokens: list[_Token]) -> list[_Token]:
    """"seventy five" is 75 (before "thousand" it would otherwise read as five thousand)."""
    merged: list[_Token] = []
    for token in tokens:
        previous = merged[-1] if merged else None
        if token.text in _UNITS and previous is not None and previous.text in _TENS and (
            previous.kind == "word"
        ):
            value = Decimal(_TENS[previous.text] + _UNITS[token.text])
            merged[-1] = _Token("num", f"{previous.text} {token.text}", value, previous.start,
                                token.end)
            continue
        merged.append(token)
    return merged


def _fractions_merged(tokens: list[_Token]) -> list[_Token]:
    """"paune do lakh" is 1.75 lakh, "saadhe teen lakh" 3.5 lakh and "sawa do lakh" 2.25 lakh:
    the fraction word and the number after it become one number. Before a multiplier the
    word is a number itself ("sawa lakh" 1.25 lakh, "paune lakh" 0.75 lakh)."""
    merged: list[_Token] = []
    skip = False
    for i, token in enumerate(tokens):
        if skip:
            skip = False
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        base = _number_of(following) if token.text in _FRACTION_WORDS else None
        if base is not None:
            value = base + _FRACTION_WORDS[token.text]
            merged.append(_Token("num", f"{token.text} {following.text}", value, token.start,
                                 following.end))
            skip = True
            continue
        merged.append(token)
    return merged


@dataclass
class _Amount:
    value: Decimal
    multiplied: bool
    first_index: int
    end_index: int  # the token index after the amount
    start: int  # character span in the normalized text
    end: int
    currency: str | None = None
    period: str = ""
    phrase_start: int = 0
    phrase_end: int = 0
    role: str = "plain"  # "spend", "other" or "plain"


def _read_amount(tokens: list[_Token], i: int) -> _Amount | None:
    """An amount starting at token ``i``: a number or number word, its multiplier, and any
    further "40 thousand" parts of a compound ("2 lakh 40 thousand")."""
    total = Decimal(0)
    multiplied = False
    first = i
    parts = 0
    last_multiplier = None
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "num" and token.value is not None:
            number = token.value
        elif token.kind == "word" and token.text in _WORD_NUMBERS and i + 1 < len(tokens) and (
            tokens[i + 1].text in _MULTIPLIERS
        ):
            number = Decimal(_WORD_NUMBERS[token.text])
        else:
            break
        j = i + 1
        multiplier = 1
        # "l" alone is a lakh only straight after a number ("2L"), never a word.
        if j < len(tokens) and tokens[j].kind == "word" and tokens[j].text in _MULTIPLIERS and (
            tokens[j].text != "l" or tokens[j].start == token.end
        ):
            multiplier = _MULTIPLIERS[tokens[j].text]
            j += 1
            # "5 sau" is 500, and "2 lakh" stays a lakh: a hundred never multiplies again.
            if multiplier == 100 and j < len(tokens) and tokens[j].text in _MULTIPLIERS and (
                _MULTIPLIERS[tokens[j].text] > 100
            ):
                multiplier *= _MULTIPLIERS[tokens[j].text]
                j += 1
        if parts and (multiplier == 1 or (last_multiplier and multiplier >= last_multiplier)):
            break  # "2 lakh 40 thousand" goes down; "2 lakh 3 users" stops
        if parts and tokens[i - 1].kind == "word" and (
            tokens[i - 1].text not in ("and", "aur", *_MULTIPLIERS)
        ):
            break
        total += number * multiplier
        multiplied = multiplied or multiplier > 1
        last_multiplier = multiplier if multiplier > 1 else last_multiplier
        parts += 1
        i = j
        if multiplier == 1:
            break
        if i < len(tokens) and tokens[i].text in ("and", "aur"):
            i += 1
    if parts == 0:
        return None
    if i > first and tokens[i - 1].text in ("and", "aur"):
        i -= 1
    return _Amount(total, multiplied, first, i, tokens[first].start, tokens[i - 1].end)


def _is_phone_or_year(token: _Token, amount: _Amount) -> bool:
    digits = re.sub(r"\D", "", token.text)
    if amount.multiplied:
        return False
    if len(digits) >= 10 and "," not in token.text:
        return True
    return bool(re.fullmatch(r"(19[89]\d|20[0-3]\d)", token.text)) and token.text != "2000"


def _clause_bounds(text: str, start: int, end: int, low: int, high: int) -> tuple[int, int]:
    """The amount's clause: between sentence or clause marks, within the neighbours."""
    before = text[low:start]
    cut = max((m.end() for m in re.finditer(r"[.;!?\n|]\s|[,;!?\n|]|\b(but|par|lekin|magar|"
                                              r"and|aur|so|kyunki|because)\b", before)),
              default=0)
    after = text[end:high]
    stop = next((m.start() for m in re.finditer(r"[.;!?\n|](\s|$)|[,;!?\n|]|\b(but|par|lekin|"
                                               r"magar|and|aur|so|kyunki|because)\b", after)),
                len(after))
    return low + cut, end + stop


def _nearest(pattern: re.Pattern, text: str, *, from_end: bool) -> int | None:
    """How far the nearest cue is from the amount, in characters, or None without one; the
    cue is looked for among the five words before the amount, or the six after it."""
    if from_end:
        words = list(re.finditer(r"\S+", text))[-5:]
        tail = text[words[0].start():] if words else ""
        found = list(pattern.finditer(tail))
        return None if not found else len(tail.rstrip()) - found[-1].end()
    head = " ".join(text.split()[:6])
    match = pattern.search(head)
    return None if match is None else match.start()


def _role(text: str, start: int, end: int, low: int, high: int) -> str:
    clause_start, clause_end = _clause_bounds(text, start, end, low, high)
    before = text[clause_start:start]
    after = text[end:clause_end]
    spend = [d for d in (_nearest(_SPEND_BEFORE, before, from_end=True),
                         _nearest(_SPEND_AFTER, after, from_end=False),
                         0 if _SPEND_NEXT.match(after) else None) if d is not None]
    other = [d for d in (_nearest(_OTHER_BEFORE, before, from_end=True),
                         _nearest(_OTHER_AFTER, after, from_end=False),
                         0 if _OTHER_NEXT.match(after) else None) if d is not None]
    # "the 1.2L package", "your 4999 plan", "that 18k you mentioned": a price already named.
    if re.search(r"\b(the|that|this|your|ur)\W*$", before) and re.match(
        r"\W*(/-)?\W*(package|plan|pack|course|bundle|option|one|wala|wali|you|quote)\b", after
    ):
        return "other"
    # "would 60k cover a 2-night trip?": what the lead's money buys.
    if re.search(r"\b(would|will|could|can|does|is|enough)\W*$", before) and re.match(
        r"\W*(/-)?\W*(cover|be enough|suffice|work)\b", after
    ):
        return "spend"
    if spend and (not other or min(spend) < min(other)):
        return "spend"
    if other:
        return "other"
    return "plain"


def _period(text: _Text, amount: _Amount) -> tuple[str, int, int]:
    """The period an amount is stated per, and the span of the words saying it."""
    normalized = text.normalized
    after = normalized[amount.phrase_end:amount.phrase_end + 40]
    match = _PERIOD_AFTER.match(after)
    if match:
        word = match.group("word")
        joined = after[:match.start("word")]
        connector = joined.strip().split()[-1] if joined.strip() else ""
        if word in _PERIOD_WORDS and (
            connector in {"a", "an", "per", "every", "each", "har", "ek", "/", "in a"}
            or joined.rstrip().endswith("/") or word in _ADVERB_PERIODS
            or (word in {"mahina", "mahine", "saal", "roz"} and (
                word != "saal" or re.match(r"\s+(ka|ke|ki)\b", after[match.end("word"):])))
        ) and not re.match(r"\s*(mein|me|main|baad|later|time|tak ka)\b",
                           after[match.end("word"):]):
            return _PERIOD_WORDS[word], amount.phrase_start, amount.phrase_end + (
                match.end() if re.search(r"\b(ka|ke|ki)$", match.group(0)) else match.end("word"))
    before = normalized[max(0, amount.phrase_start - 40):amount.phrase_start]
    match = _PERIOD_BEFORE.search(before)
    if match:
        word = match.group("w1") or match.group("w2")
        if word in _PERIOD_WORDS and (match.group("w1") or word in _ADVERB_PERIODS or (
            word in {"mahine", "mahina", "saal", "month", "year"}
            and re.match(r"\S+\s+(ka|ke|ki)\b", match.group("phrase"))
        )):
            offset = amount.phrase_start - len(before)
            return _PERIOD_WORDS[word], offset + match.start("phrase"), amount.phrase_end
    return "", amount.phrase_start, amount.phrase_end


def extract_budget(text: str, *, default_currency: str = DEFAULT_CURRENCY) -> Budget | None:
    """The most the lead says it will spend, or None."""
    lead_text = _QUOTED.sub(_blank, text)
    lead_text = _PHONE.sub(lambda m: _blank(m) if _is_phone(m.group(0)) else m.group(0),
                           lead_text)
    normalized_text = _normalize(lead_text)
    normalized_text.original = text  # same length: quoted parts were blanked, not removed
    normalized = normalized_text.normalized
    tokens = _tokens(normalized)
    raw: list[_Amount] = []
    i = 0
    while i < len(tokens):
        amount = _read_amount(tokens, i)
        if amount is None:
            i += 1
            continue
        raw.append(amount)
        i = max(amount.end_index, i + 1)
    amounts = []
    k = 0
    while k < len(raw):
        amount, lower = raw[k], None
        # "60-80k", "between 40k and 60k", "1.8 se 2 lakh": a range is read as its upper bound,
        # with the words around the whole range.
        if k + 1 < len(raw) and _RANGE_JOINER.fullmatch(normalized[amount.end:raw[k + 1].start]):
            lower, amount = amount, raw[k + 1]
            k += 1
        low = raw[k - 2 if lower else k - 1].end if k - (2 if lower else 1) >= 0 else 0
        high = raw[k + 1].start if k + 1 < len(raw) else len(normalized)
        if _admitted(normalized_text, tokens, amount, low, high, lower):
            amounts.append(amount)
        k += 1
    _carry_multiplier(amounts, raw)
    if not amounts:
        return None
    if _NO_BUDGET.search(normalized) and all(not a.multiplied and a.currency is None
                                            for a in amounts):
        return None
    theirs = [a for a in amounts if a.role == "spend"] or [
        a for a in amounts if a.role == "plain"]
    if not theirs:
        return None
    best = max(theirs, key=lambda a: a.value)
    if best.value <= 0:
        return None
    currency = best.currency or next((a.currency for a in theirs if a.currency), None)
    value = best.value.quantize(Decimal("1")) if best.value == best.value.to_integral() else (
        best.value.quantize(Decimal("0.01"))
    )
    return Budget(amount=value, currency=currency or default_currency, period=best.period,
                  phrase=normalized_text.source(best.phrase_start, best.phrase_end))


def _blank(match: re.Match) -> str:
    return " " * len(match.group(0))


def _is_phone(written: str) -> bool:
    """Ten digits or more in groups, unlike a range of round amounts ("40000-60000")."""
    groups = re.findall(r"\d+", written)
    return written.startswith(("+", "0")) or (
        sum(map(len, groups)) >= 10 and not all(g.endswith("000") for g in groups))


def _carry_multiplier(amounts: list[_Amount], raw: list[_Amount]) -> None:
    """"You quoted 85k, do it at 72": a bare counter-offer counts in the unit of the figure
    it answers, when that reading puts it near that figure."""
    for amount in amounts:
        if amount.multiplied or amount.value >= 100 or amount.role != "spend":
            continue
        for other in raw:
            if other is amount or not other.multiplied:
                continue
            unit = Decimal(10) ** (len(str(int(other.value))) - len(str(int(amount.value))))
            if unit > 1 and Decimal("0.2") <= amount.value * unit / other.value <= Decimal(1):
                amount.value *= unit
                amount.multiplied = True
                break
    amounts[:] = [a for a in amounts if a.multiplied or a.currency or a.value >= 100]


def _admitted(text: _Text, tokens: list[_Token], amount: _Amount, low: int, high: int,
              lower: _Amount | None = None) -> bool:
    """Whether ``amount`` (the upper bound of a range from ``lower``, if given) is money at
    all; sets its currency, period, phrase and role."""
    normalized = text.normalized
    first_token = tokens[amount.first_index]
    before = tokens[amount.first_index - 1] if amount.first_index > 0 else None
    before2 = tokens[amount.first_index - 2] if amount.first_index > 1 else None
    after = tokens[amount.end_index] if amount.end_index < len(tokens) else None
    currency = _CURRENCY_WORDS.get(before.text) if before is not None else None
    amount.phrase_start, amount.phrase_end = amount.start, amount.end
    if currency is not None:
        amount.phrase_start = before.start
    elif after is not None and after.text in _CURRENCY_WORDS:
        currency = _CURRENCY_WORDS[after.text]
        amount.phrase_end = after.end
    elif before is not None and before.kind == "sym" and before2 is not None and (
        before2.text in _CURRENCY_WORDS
    ):
        currency = _CURRENCY_WORDS[before2.text]  # "$ 1,200" read as "$", " ", "1,200"
        amount.phrase_start = before2.start
    if lower is not None:
        lower_before = tokens[lower.first_index - 1] if lower.first_index else None
        if currency is None and lower_before is not None:
            currency = _CURRENCY_WORDS.get(lower_before.text)
        amount.phrase_start = min(amount.phrase_start, lower.start if lower_before is None or (
            lower_before.text not in _CURRENCY_WORDS) else lower_before.start)
        amount.multiplied = amount.multiplied or lower.multiplied
    amount.currency = currency
    between = normalized[amount.end:after.start] if after is not None else ""
    period, amount.phrase_start, amount.phrase_end = _period(text, amount)
    per_period = after is not None and after.text in _PERIODS_AFTER and (
        amount.multiplied or currency is not None or "/" in between
        or (amount.end_index > 0 and tokens[amount.end_index - 1].text == "per"))
    if per_period and not period and (after.start == amount.end or "/" in between):
        period = _PERIOD_WORDS.get(after.text, "")
    amount.period = period if period in PERIODS else ""
    after_is_count = after is not None and after.text in _COUNT_NOUNS and not (
        per_period or amount.period) and not re.search(r"[,;.!?|]", between)
    joined_after = (after is not None and after.kind == "word" and after.start == amount.end
                    and after.text not in _MULTIPLIERS and _CURRENCY_WORDS.get(after.text) is None
                    and not amount.period)
    char_before = normalized[amount.start - 1:amount.start] if amount.start else ""
    if currency is None and char_before and (char_before.isalnum() or char_before in "-#"):
        return False  # part of an id: "INV-2231", "TXN88230192", "#4521"
    if currency is None and first_token.kind == "num" and _is_phone_or_year(first_token, amount):
        return False
    if currency is None and (after_is_count or joined_after):
        return False  # "25 users", "5pm", "3rd"
    bare = currency is None and not amount.multiplied and lower is None
    if bare and after is not None and after.kind == "word" and not amount.period and (
        after.text not in _BARE_FOLLOWERS and after.text not in _MULTIPLIERS
        and not normalized[amount.end:after.start].strip()
    ):
        return False  # "100 custom mugs", "300 copies", "100 कुर्सियों"
    if bare and _ID_BEFORE.search(normalized[max(0, amount.start - 24):amount.start]):
        return False  # "order no. 55120", "pin 560034", "mera number 99101 23456"
    if after is not None and after.text == "%":
        return False
    if re.search(r"\d\s*[:/]\s*$", normalized[max(0, amount.start - 3):amount.start]):
        return False  # "5:30", "12/03": a time or a date
    if re.match(r"\s*[:/.]\s*\d", normalized[amount.end:amount.end + 3]):
        return False
    amount.role = _role(normalized, amount.phrase_start, amount.phrase_end, low, high)
    if currency is None and not amount.multiplied and amount.role != "spend":
        return False  # "about 2500 a month" is enquiries; "budget 2500" is money
    if amount.role != "other":
        clause_start, clause_end = _clause_bounds(normalized, amount.start, amount.end, low, high)
        around = normalized[max(0, clause_start - 30):clause_end + 30]
        if _GONE.search(around) or _NO_BUDGET.search(around) or (_CANCELLED.search(
                normalized) and (
            _PAST.search(around) or re.search(r"\b(set aside|kept aside)\b", around)
        )):
            return False  # a budget that no longer exists
    return True
