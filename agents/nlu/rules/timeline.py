"""Timeline from a lead's message (pure, no ORM, no model).

When the lead says it will buy or start, as one of the leads app's Timeline values:
``immediate`` (within about two weeks: now, today, tonight, tomorrow / kal, this or next week,
a weekday, this weekend, by the 15th, in a few days, ASAP, urgent, turant, jaldi), ``month``
(this month, by month end, in three weeks, next month, a named month, a festival), ``quarter``
(next quarter, in two or three months) and ``later`` (next year, someday, maybe later, not now,
no idea when, baad mein). English, Hinglish and Devanagari.

When a message holds several, the nearest wins ("next month, but a demo tomorrow" is
immediate). A negated or past one does not count ("not this week", "no budget this year",
"kal call kiya tha"); neither do times of day alone ("5pm"), opening days ("Monday to
Friday", "every Saturday"), "today's price" or "aaj kal" (nowadays). The reading keeps the
lead's own words (``phrase``), a substring of the message, so a score can quote them.

Only the first ``READ_LIMIT`` characters are read: a lead's own words come first (what an
email holds below them is quoted history and signatures), and the bound keeps a hostile
megabyte as fast as a short message. The text helpers are shared with the authority reader
(``rules.text``).
"""

import re
from dataclasses import dataclass

from agents.nlu.rules.text import (
    NEGATION_VOIDERS,
    READ_LIMIT,
    WORD,
    clause_after,
    devanagari_plain,
    negated_after,
    negated_before,
    phrase_of,
    resolved,
    word_rule,
    words_after,
    words_before,
)

IMMEDIATE, MONTH, QUARTER, LATER = "immediate", "month", "quarter", "later"
VALUES = (IMMEDIATE, MONTH, QUARTER, LATER)


@dataclass(frozen=True)
class TimelineReading:
    value: str
    phrase: str


# --- The rules ------------------------------------------------------------------------------

_G = r"[^\S\r\n]{1,8}"  # a gap between two words on one line
_DAY = r"(?:3[01]|[12][0-9]|0?[1-9])"
_ORD = r"(?:st|nd|rd|th)"
_HAFTE = r"(?:हफ्ते|हफ्ता|सप्ताह)"
_WEEKDAYS = (
    r"monday|tuesday|wednesday|wensday|wednsday|thursday|friday|saturday|sunday"
    r"|som[vw]aa?r|mangal[vw]aa?r|budh[vw]aa?r|guru[vw]aa?r|brihaspati[vw]aa?r|veer[vw]aa?r"
    r"|shukra?[vw]aa?r|shani[vw]aa?r|ravi[vw]aa?r|it[vw]aa?r|et[vw]aa?r"
    r"|सोमवार|मंगलवार|बुधवार|गुरुवार|गुरूवार|बृहस्पतिवार|वीरवार|शुक्रवार|शनिवार|रविवार|इतवार"
)
_WEEKDAY_ABBR = r"mon|tues?|wed|thu|thur|thurs|fri|sat"  # "sun" is the sun; "sun lo" is Hindi
_ANY_WEEKDAY = rf"(?:{_WEEKDAYS}|{_WEEKDAY_ABBR})"
_MONTHS = (r"january|february|febuary|feburary|march|april|june|july|august|september"
           r"|october|november|december")
_MONTH_ABBR = r"jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
_D_MONTHS = (r"जनवरी|फरवरी|मार्च|अप्रैल|मई|जून|जुलाई|अगस्त|सितंबर|सितम्बर|अक्टूबर|अक्तूबर"
             r"|नवंबर|नवम्बर|दिसंबर|दिसम्बर")
_FESTIVALS = (
    r"diwali|deepawali|deepavali|dipawali|divali|holi|dussehra|dussera|dusshera|dasara|dashara"
    r"|navratri|navaratri|navratra|eid|bakrid|christmas|xmas|new\s+year|pongal|onam"
    r"|(?:makar\s+)?sankranti|lohri|rakhi|raksha\s*bandhan|janmashtami|ganesh\s+chaturthi"
    r"|ganpati|durga\s+puja|ramzan|ramadan|gudi\s+padwa|ugadi|baisakhi|vaisakhi"
    r"|karwa\s+chauth|chhath|dhanteras|easter|thanksgiving|black\s+friday"
)
_D_FESTIVALS = (r"दिवाली|दीवाली|दीपावली|होली|दशहरा|नवरात्रि|नवरात्र|ईद|क्रिसमस|पोंगल|ओणम|राखी"
                r"|रक्षाबंधन|जन्माष्टमी|गणेश\s+चतुर्थी|दुर्गा\s+पूजा|धनतेरस|छठ|लोहड़ी|बैसाखी")
_BY = r"(?:by|before|till|until|untill|latest\s+by|no\s+later\s+than)"

# An earlier word that makes what follows past ("last Monday", "since Friday") …
_PAST_JUST_BEFORE = {"last", "past", "previous", "pichle", "pichhle", "pichli", "pichla",
                     "pichhli", "पिछले", "पिछली", "पिछला", "since"}
# … or a past verb shortly before ("we spoke today", "I called this morning").
_PAST_BEFORE = {"called", "emailed", "mailed", "messaged", "texted", "spoke", "talked", "met",
                "visited", "bought", "purchased", "saw", "came", "went", "tried", "ordered"}
# Hindi says the tense after the time word: "kal call kiya tha" is yesterday, "kal call
# karunga" tomorrow; a future word ends the question ("kal payment kiya jayega").
_PAST_AFTER = {
    "tha", "thi", "thhe", "thay", "kiya", "kia", "kiye", "liya", "lia", "diya", "dia", "diye",
    "gaya", "gya", "gayi", "gyi", "gaye", "gye", "hua", "hui", "huyi", "hue", "huye", "mila",
    "mili", "aaya", "aya", "aayi", "ayi", "bola", "boli", "kaha", "dekha", "chuka", "chuki",
    "chuke", "था", "थी", "थे", "किया", "किये", "किए", "लिया", "दिया", "गया", "गई", "गयी", "गए",
    "हुआ", "हुई", "मिला", "मिली", "आया", "आई", "कहा", "बोला", "चुका", "चुकी", "चुके",
}
_FUTURE_AFTER = {
    "jayega", "jaega", "jaayega", "jayegi", "jaegi", "jaayegi", "jayenge", "jaenge",
    "jaaenge", "jaye", "jaaye", "hoga", "hogi", "honge", "karunga", "karungi", "karenge",
    "karega", "karegi", "dunga", "dungi", "denge", "dega", "degi", "lunga", "lungi", "lenge",
    "lega", "legi", "chahiye", "chaiye", "जाएगा", "जायेगा", "जाएगी", "होगा", "होगी",
    "करेंगे", "करूंगा", "करूँगा", "करेगा", "देंगे", "दूंगा", "चाहिए", "will", "please", "plz",
}
_UNWORKABLE_AFTER = re.compile(
    r"^\W*(?:[\w']+\s+){0,2}?(?:not|isn'?t|won'?t|doesn'?t|can'?t|cannot|is\s+not|will\s+not)"
    r"\s+(?:be\s+)?(?:possible|feasible|work|working|suit|suitable|good|ok|okay|convenient"
    r"|doable|happen|happening)", re.IGNORECASE)


def _now_counts(text: str, match: re.Match) -> bool:
    """"now" is a timeline when the lead wants something now, not "for now", "till now",
    "just now" (a moment ago), "now we use Zoho" or a "Now, …" that opens a sentence."""
    before = words_before(text, match.start(), 2)
    if before and (before[-1] in {"just", "till", "until", "untill", "upto", "for", "from",
                                  "even", "by", "of", "as"} or before[-2:] == ["up", "to"]):
        return False
    rest = text[match.end():match.end() + 20].lower()
    if re.match(r"[^\S\n]*,?[^\S\n]*(?:we|i|they|he|she|our|my|you|it|there|that|on|a\s*days)\b",
                rest):
        return False
    return not (not before and rest.lstrip().startswith(","))


def _abhi_counts(text: str, match: re.Match) -> bool:
    """"abhi" is also "so far" (abhi tak), "still" (abhi bhi), "currently" (abhi hum …) and a
    name ("Hi, Abhi here")."""
    after = words_after(text, match.end(), 1)
    before = words_before(text, match.start(), 1)
    return not (
        (after and after[0] in {"tak", "bhi", "hum", "ham", "main", "mai", "mein", "me", "to",
                                "toh", "filhal", "thoda", "kuch", "we", "i", "here", "tk",
                                "तक", "भी", "हम", "मैं", "तो"})
        or (before and before[-1] in {"hi", "hello", "hey", "dear", "am", "naam", "name", "is"}))


def _after_day_number_counts(text: str, match: re.Match) -> bool:
    """"by the 2nd" is a date; "on the 2nd floor" is not ("15 tarikh" always is)."""
    if not re.search(r"\d(?:st|nd|rd|th)?$", match.group(0), re.IGNORECASE):
        return True
    after = words_after(text, match.end(), 1)
    return not (after and after[0] in {
        "floor", "time", "times", "attempt", "try", "round", "rank", "position", "place",
        "year", "grade", "class", "std", "standard", "batch", "edition", "version", "gen",
        "generation", "semester", "sem", "person", "user", "one", "item", "option", "point",
        "step", "level", "phase", "stage", "call", "meeting", "session", "visit", "payment",
        "installment", "instalment", "emi", "day", "week", "quarter", "half", "hand", "line",
        "page", "row", "shift", "slot", "plan", "lakh", "floors", "cross", "main", "block",
        "sector", "street", "road", "avenue"})


_RULES: list[tuple[re.Pattern, str | None, int, object]] = []


def _rule(pattern: str, value: str | None, horizon: int = 0, check=None) -> None:
    """``horizon`` is about how many days away it is, to find the nearest; a ``None`` value
    marks words that are not a timeline and hide the time words inside them."""
    _RULES.append((word_rule(pattern), value, horizon, check))


# Not a timeline, and hiding the time words inside.
_rule(rf"{_ANY_WEEKDAY}\s*(?:-|\u2013|to|through|thru|till|until|se){_G}?{_ANY_WEEKDAY}"
      r"(?:\s+tak)?", None)
_rule(rf"(?:every|each|har|हर|all){_G}(?:{_WEEKDAYS})", None)
_rule(rf"(?:open|closed|shut|holiday|off|band){_G}(?:on{_G})?(?:{_WEEKDAYS})", None)
_rule(r"(?:today|tonight|tomorrow|this\s+week|this\s+month|aaj)(?:'s|\u2019s|s)?"
      r"[^\S\n]+(?:price|prices|rate|rates|offer|offers|deal|deals|discount|special|specials"
      r"|news|weather|menu|bhav|bhaav|gold\s+rate)"
      r"|aaj\s+ka\s+(?:rate|price|bhav|bhaav|offer)|आज\s+का\s+(?:रेट|भाव|ऑफर)", None)
_rule(r"aaj\s*kal|aj\s+kal|आज\s*कल|now\s*-?\s*a\s*-?\s*days|nowadays|these\s+days", None)
_rule(r"(?:as\s+of|till|until|untill|up\s*to)\s+(?:today|now|date)|to\s+date|so\s+far"
      r"|abhi\s+tak|अभी\s+तक|black\s+friday", None)

# Immediate: within about two weeks.
_rule(r"asap|a\.s\.a\.p\.?|as\s+soon\s+as\s+possible|at\s+the\s+earliest|right\s+away"
      r"|straight\s+away|immediately|immediate|urgent|urgently|urgency|at\s+once|now\s+itself"
      r"|today\s+itself|aaj\s+hi|abhi\s+ke\s+abhi|turant|turrant|turent|tatkal|fauran|foran"
      r"|fatafat|jaldi\s+jaldi|jaldi(?:\s+se)?|jldi(?:\s+se)?|तुरंत|तुरन्त|फौरन|जल्दी(?:\s+से)?"
      r"|अभी\s+के\s+अभी", IMMEDIATE, 0)
_rule(r"(?:right\s+)?now", IMMEDIATE, 0, _now_counts)
_rule(r"abhi+|abhie|अभी", IMMEDIATE, 0, _abhi_counts)
_rule(rf"(?:{_BY}{_G})?(?:today|2day|tday|tdy|tonight|tonite|2nite|2night"
      r"|this\s+(?:evening|afternoon|morning)|later\s+today|end\s+of\s+(?:the\s+)?day|eod"
      r"|e\.o\.d|cob|close\s+of\s+business|aaj(?:\s+(?:raat|rat|shaam|sham|subah|dopahar))?"
      r"|aj|आज(?:\s+(?:रात|शाम|सुबह|दोपहर))?)", IMMEDIATE, 0)
_rule(rf"(?:{_BY}{_G})?(?:tomorrow|tomorow|tommorow|tommorrow|tomorrw|tmrw|tmrow|tmr|tmw|tmro"
      r"|tmrrw|2moro|2morow|2morrow|2mrw|2mro|2mrow|kal|कल)", IMMEDIATE, 1)
_rule(rf"(?:{_BY}|on|from){_G}tom|tom(?={_G}(?:morning|evening|night|eve|mrng|mrn|at|\d))",
      IMMEDIATE, 1)
_rule(rf"(?:{_BY}{_G})?(?:day\s+after\s+(?:tomorrow|tmrw|tomorow|tommorow)|parso|parson"
      r"|parsoon|parsu|parsho|परसों|परसो)", IMMEDIATE, 2)
_rule(rf"(?:{_BY}{_G}|within{_G})?(?:(?:this|iss|isi)\s+(?:coming\s+)?(?:week|wk)"
      r"|(?:is|iss|isi)\s+(?:hafte|hafta|haftey|haftay)|end\s+of\s+(?:the|this)\s+week"
      rf"|इस\s+{_HAFTE}|इसी\s+{_HAFTE})", IMMEDIATE, 3)
_rule(rf"(?:(?:this|the|coming|next|by|on|over\s+the|is|iss|agle){_G}week\s*-?end"
      rf"|week\s*-?end{_G}(?:pe|par|tak|mein|me|ko))", IMMEDIATE, 5)
_rule(rf"(?:{_BY}{_G}|early{_G})?(?:next|nxt|coming|agle|agla|agli|aane\s+wale)"
      rf"{_G}(?:week|wk|hafte|hafta|haftey|haftay)|अगले\s+{_HAFTE}|आने\s+वाले\s+{_HAFTE}",
      IMMEDIATE, 7)
_rule(rf"(?:(?:{_BY}|on|this|coming|is|iss){_G}(?:the{_G})?)?(?:{_WEEKDAYS})(?:{_G}ko)?",
      IMMEDIATE, 4)
_rule(rf"(?:{_BY}{_G})?(?:next|nxt|agle|agla|अगले|अगला){_G}(?:{_WEEKDAYS}|{_WEEKDAY_ABBR})",
      IMMEDIATE, 8)
_rule(rf"(?:{_BY}|on|this|coming){_G}(?:{_WEEKDAY_ABBR})", IMMEDIATE, 4)
_rule(rf"(?:{_BY}|on|from){_G}(?:the{_G}{_DAY}{_ORD}?|{_DAY}{_ORD})"
      rf"|{_DAY}{_ORD}?{_G}(?:tarikh|tareekh|tarik|tareek|तारीख)(?:{_G}(?:ko|tak|se))?"
      rf"|{_DAY}{_ORD}{_G}(?:ko|tak|तक|को)", IMMEDIATE, 10, _after_day_number_counts)

# Month: weeks away.
_rule(rf"(?:{_BY}{_G}|within{_G})?(?:(?:this|iss|isi)\s+month|(?:is|iss|isi)\s+(?:mahine"
      r"|mahina|mahiney)|इस\s+महीने|इसी\s+महीने|इस\s+माह)", MONTH, 15)
_rule(rf"(?:{_BY}{_G}|at{_G}|in{_G})?(?:the\s+)?(?:end\s+of\s+(?:the\s+|this\s+)?month"
      r"|month[-\s]?end|eom|mahine\s+ke\s+(?:end|ant|aakhir|akhir|last)(?:\s+(?:tak|mein|me))?"
      r"|महीने\s+के\s+(?:अंत|आखिर|एंड)(?:\s+(?:तक|में))?)", MONTH, 20)
_rule(rf"(?:(?:{_BY}|in|within|early|mid|from|end\s+of){_G})?(?:next|nxt|coming|agle|agla"
      rf"|aane\s+wale|following){_G}(?:month|mnth|mahine|mahina|mahiney)|अगले\s+(?:महीने|माह)"
      r"|अगला\s+महीना", MONTH, 30)
_rule(rf"(?:(?:{_BY}|on|from){_G})?(?:the{_G})?{_DAY}{_ORD}?(?:{_G}of)?{_G}(?:next|agle"
      rf"|coming){_G}(?:month|mahine)", MONTH, 35)
_rule(rf"(?:(?:{_BY}|on|from|in|after|during|starting|start\s+of|end\s+of|beginning\s+of|mid"
      rf"|early|late){_G})?(?:the{_G})?{_DAY}{_ORD}?(?:{_G}of)?(?:{_G}|-)(?:may|{_MONTHS}"
      rf"|{_MONTH_ABBR})"
      rf"|(?:(?:{_BY}|on|from|in|after|starting){_G})?(?:may|{_MONTHS}|{_MONTH_ABBR})"
      rf"{_G}{_DAY}{_ORD}?", MONTH, 30)
_rule(rf"(?:{_BY}|from|in|after|during|starting|start\s+of|end\s+of|beginning\s+of|early"
      rf"|late|this|next|coming|mid)(?:{_G}|-)(?:the{_G})?(?:{_MONTHS})"
      rf"|(?:{_BY}|from|in|after|during|starting|start\s+of|end\s+of|beginning\s+of|early"
      rf"|late|mid)(?:{_G}|-)may"
      rf"|(?:may|{_MONTHS}){_G}(?:mein|me|tak|se|end|ke\s+(?:baad|bad|end|aakhir|akhir|pehle"
      rf"|pahle|start|shuru))"
      rf"|(?:{_D_MONTHS}){_G}(?:में|तक|से|के\s+(?:बाद|पहले|अंत|आखिर))|{_DAY}{_G}(?:{_D_MONTHS})",
      MONTH, 30)
_rule(rf"(?:after|before|by|till|until|around|post|pre|for|during|on|this|in\s+time\s+for)"
      rf"(?:{_G}|-)(?:the{_G})?(?:{_FESTIVALS})"
      rf"|(?:{_FESTIVALS}){_G}(?:ke\s+(?:baad|bad|pehle|pahle|aas\s*-?\s*paas|time|around)"
      r"|se\s+(?:pehle|pahle)|tak|pe|par|mein|me)"
      rf"|(?:{_D_FESTIVALS}){_G}(?:के\s+(?:बाद|पहले|आसपास)|से\s+पहले|तक|पर|में)", MONTH, 30)

# Quarter: two or three months away.
_rule(rf"(?:(?:{_BY}|in|within|from|early|end\s+of){_G})?(?:(?:next|nxt|coming|agle|agla"
      rf"|following){_G}(?:quarter|qtr|quater)|(?:this|is|iss){_G}(?:quarter|qtr))"
      rf"|(?:{_BY}|in|during|from|start\s+of|end\s+of){_G}(?:the{_G})?q[1-4]"
      rf"|q[1-4]{_G}(?:mein|me|tak|se)|(?:अगली|इस)\s+तिमाही|अगले\s+क्वार्टर", QUARTER, 75)

# Later: a year or more, or no date.
_rule(rf"(?:(?:{_BY}|in|from|early|end\s+of){_G})?(?:next|nxt|coming|agle|agla|agli"
      rf"|following){_G}(?:year|yr|saal|sal|financial\s+year|fy|fiscal(?:\s+year)?)"
      r"|अगले\s+(?:साल|वर्ष|बरस)|अगला\s+साल", LATER, 365)
_rule(rf"(?:next|agli|agle|अगली|अगले){_G}(?:{_FESTIVALS}|{_D_FESTIVALS})", LATER, 365)
_rule(rf"(?:later{_G}|sometime{_G}|{_BY}{_G})?(?:(?:this|iss){_G}(?:year|financial\s+year|fy)"
      rf"|(?:is|iss){_G}saal)|इस\s+(?:साल|वर्ष)|(?:{_BY}{_G})?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?year"
      r"|year[-\s]?end|saal\s+ke\s+(?:end|ant|aakhir|akhir)|later\s+in\s+the\s+year",
      LATER, 200)
_rule(r"someday|some\s+day|sometime|some\s+time\s+later|in\s+(?:the\s+)?future"
      r"|future\s+(?:mein|me|main)|down\s+the\s+(?:line|road)|eventually"
      r"|(?:maybe|may\s+be|perhaps|probably)\s+later|later\s+on|at\s+a\s+later\s+(?:date|stage"
      r"|point)|later\s+stage|not\s+(?:right\s+)?now|not\s+at\s+the\s+moment|not\s+immediately"
      r"|not\s+(?:so\s+)?urgent(?:ly)?|no\s+(?:rush|hurry|urgency)|not\s+in\s+a\s+hurry"
      r"|in\s+no\s+hurry|(?:no|not\s+sure|don'?t\s+know|do\s+not\s+know|unsure)\s+(?:idea\s+)?"
      r"when|no\s+(?:fixed\s+)?(?:timeline|timeframe|time\s+frame|date)(?:\s+yet)?"
      r"|not\s+decided\s+when|baad\s+(?:mein|me|main|mai)|bad\s+mein|fir\s+kabhi|phir\s+kabhi"
      r"|kabhi\s+aur|(?:abhi|abi)\s+(?:nahi|nhi|nahin|nai)|(?:koi\s+)?jaldi\s+(?:nahi|nhi)"
      r"|(?:pata|pta)\s+(?:nahi|nhi)\s+kab|बाद\s+में|फिर\s+कभी|अभी\s+नहीं|(?:कोई\s+)?जल्दी\s+नहीं"
      r"|पता\s+नहीं\s+कब|भविष्य\s+में", LATER, 1000)

# Durations: "in 2 days", "3 hafte mein", "next 2-3 months", "do teen mahine".
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "ek": 1, "एक": 1, "two": 2, "do": 2, "दो": 2, "three": 3,
    "teen": 3, "तीन": 3, "four": 4, "char": 4, "chaar": 4, "चार": 4, "five": 5, "paanch": 5,
    "panch": 5, "पांच": 5, "पाँच": 5, "six": 6, "chhe": 6, "chhah": 6, "छह": 6, "seven": 7,
    "saat": 7, "सात": 7, "eight": 8, "aath": 8, "आठ": 8, "nine": 9, "nau": 9, "नौ": 9,
    "ten": 10, "das": 10, "दस": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "pandrah": 15,
    "पंद्रह": 15, "twenty": 20, "bees": 20, "बीस": 20, "thirty": 30, "tees": 30,
    "a couple of": 2, "couple of": 2, "a few": 3, "few": 3, "kuch": 3, "कुछ": 3, "several": 4,
}
_NUMBER_ALTERNATIVES = "|".join(
    re.escape(word).replace(r"\ ", r"\s+")
    for word in sorted(_NUMBER_WORDS, key=len, reverse=True))
_NUM = rf"(?:[0-9\u0966-\u096f]{{1,3}}|{_NUMBER_ALTERNATIVES})"
_NUM_NOT_ARTICLE = rf"(?:[0-9\u0966-\u096f]{{1,3}}|(?!an?\s)(?:{_NUMBER_ALTERNATIVES}))"
_UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365, "hour": 0}
_UNIT = (
    r"(?:(?P<day>days?|din|dino|dinon|दिन|दिनों)|(?P<week>weeks?|wks?|hafte|hafta|haftey|haftay"
    rf"|{_HAFTE}|हफ्तों)|(?P<fortnight>fortnights?)|(?P<month>months?|mnths?|mths?|mahine"
    r"|mahina|mahino|mahinon|महीने|महीना|महीनों)|(?P<year>years?|yrs?|saal|साल|वर्ष|बरस)"
    r"|(?P<hour>hours?|hrs?|ghante|ghanta|ghanton|घंटे|घंटा|घंटों|minutes?|mins?|मिनट))"
)
_RANGE_SEP = r"(?:\s*(?:-|\u2013|~|to|or|ya|या|se|से)\s*|\s+)"
_PRE = (r"(?:in|within|inside|after|(?:in|within|over|during)\s+the\s+next|next|agle|अगले"
        r"|timeline(?:\s+(?:is|of))?\s*[:\-]?|time\s*frame(?:\s+(?:is|of))?\s*[:\-]?"
        r"|deadline(?:\s+is)?\s*[:\-]?)")
_POST = (r"(?:mein|me|main|mai|mei|ke\s+andar|ke\s+baad|ke\s+bad|baad|from\s+now|later|में"
         r"|के\s+अंदर|के\s+भीतर|के\s+बाद|बाद)")
_DURATIONS = (
    word_rule(rf"{_PRE}{_G}(?P<n1>{_NUM})(?:{_RANGE_SEP}(?P<n2>{_NUM}))?\s*{_UNIT}"
              rf"(?:{_G}{_POST})?"),
    word_rule(rf"(?P<n1>{_NUM})(?:{_RANGE_SEP}(?P<n2>{_NUM}))?\s*{_UNIT}{_G}{_POST}"),
    word_rule(rf"(?P<n1>{_NUM_NOT_ARTICLE}){_RANGE_SEP}(?P<n2>{_NUM})\s*{_UNIT}"),
)
_DURATION_PAST_AFTER = {"ago", "back", "pehle", "pahle", "पहले", "old", "purana", "se", "से"}
_DURATION_NOT_AHEAD = {"for", "since", "last", "past", "pichle", "pichhle", "previous",
                       "every", "each", "per", "har"}


def _number(raw: str) -> int | None:
    raw = re.sub(r"\s+", " ", raw.strip().lower())
    if raw[:1].isdigit():
        try:
            return int(raw)
        except ValueError:
            return None
    return _NUMBER_WORDS.get(devanagari_plain(raw))


def _horizon_in_days(days: int) -> str:
    if days <= 15:
        return IMMEDIATE
    if days <= 45:
        return MONTH
    if days <= 95:
        return QUARTER
    return LATER


def _durations(text: str) -> list[tuple[int, int, tuple]]:
    found = []
    for index, pattern in enumerate(_DURATIONS):
        for match in pattern.finditer(text):
            unit = next(name for name in _UNIT_DAYS if match.group(name) is not None)
            numbers = [_number(match.group("n1"))]
            if match.group("n2") is not None:
                numbers.append(_number(match.group("n2")))
            if None in numbers:
                continue
            if index == 2 and re.fullmatch(r"(?:day|week|month|year)", match.group(unit),
                                           re.IGNORECASE):
                continue  # "2-3 day workshop" describes the thing, not when
            days = max(numbers) * _UNIT_DAYS[unit]
            found.append((match.start(), match.end(),
                          (_horizon_in_days(days), days, "duration")))
    return found


def _counts(text: str, start: int, end: int, kind: str, check, match) -> bool:
    """Negated, past or unworkable time words do not count."""
    before = words_before(text, start, 3)
    if before and before[-1] in _PAST_JUST_BEFORE:
        return False
    if kind == "duration":
        if before and before[-1] in _DURATION_NOT_AHEAD:
            return False  # "for 2 months" is how long, "last 3 days" is past
        after = words_after(text, end, 1)
        if after and after[0] in _DURATION_PAST_AFTER:
            return False
    if any(word in _PAST_BEFORE for word in before):
        return False
    # "not until next month" and "not before Monday" name the date: the bound is in the match.
    first = WORD.match(text, start)
    bounded = first is not None and first.group(0).lower() in NEGATION_VOIDERS
    if (negated_before(text, start) and not bounded) or negated_after(text, end):
        return False
    if _UNWORKABLE_AFTER.match(clause_after(text, end)):
        return False  # "tomorrow won't work", "today is not possible"
    for word in words_after(text, end, 5):
        if word in _FUTURE_AFTER:
            break
        if word in _PAST_AFTER:
            return False
    return check is None or check(text, match)


def read_timeline(text: str) -> TimelineReading | None:
    """When the lead says it will buy or start, or None when it says nothing that counts."""
    if not isinstance(text, str) or not text:
        return None
    text = text[:READ_LIMIT]
    candidates: list[tuple[int, int, tuple]] = []
    for pattern, value, horizon, check in _RULES:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                candidates.append((match.start(), match.end(),
                                   (value, horizon, "rule", check, match)))
    for start, end, (value, days, kind) in _durations(text):
        candidates.append((start, end, (value, days, kind, None, None)))
    kept = [c for c in resolved(candidates, len(text)) if c[2][0] is not None]
    # The nearest first; the first that counts is the reading.
    for start, end, (value, _horizon, kind, check, match) in sorted(
            kept, key=lambda c: (c[2][1], c[0])):
        if _counts(text, start, end, kind, check, match):
            phrase = phrase_of(text, start, end)
            if phrase:
                return TimelineReading(value=value, phrase=phrase)
    return None


__all__ = ["IMMEDIATE", "LATER", "MONTH", "QUARTER", "TimelineReading", "read_timeline"]
