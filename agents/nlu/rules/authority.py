"""Authority from a lead's message (pure, no ORM, no model).

Who decides the purchase, as one of the leads app's Authority values: ``decision_maker`` (the
lead owns or runs the business, holds a deciding title, says the decision is theirs, or says
the approval is already given or not needed), ``influencer`` (someone else must approve or
decide: a boss, a CFO, the management, a partner, a spouse, a parent; or the lead says it is
not theirs to decide) and ``user`` (the lead will use it but was sent to look; read
conservatively). English, Hinglish and Devanagari.

When a message holds several, an approval already given or not needed comes first; then a
need for someone else's approval (the label guide: it makes a high signal medium, so "I'm
the owner but will check with my partner" is an influencer); then a stated role; then use.
A negated claim does not count ("not the owner", "not approved yet"). The reading keeps the
lead's own words (``phrase``), a substring of the message.

Like the timeline reader, only the first ``READ_LIMIT`` characters are read.
"""

from dataclasses import dataclass

from agents.nlu.rules.text import (
    READ_LIMIT,
    negated_after,
    negated_before,
    phrase_of,
    resolved,
    word_rule,
    words_after,
    words_before,
)

DECISION_MAKER, INFLUENCER, USER = "decision_maker", "influencer", "user"
VALUES = (DECISION_MAKER, INFLUENCER, USER)


@dataclass(frozen=True)
class AuthorityReading:
    value: str
    phrase: str


# The order in which readings win when a message holds several.
_GIVEN, _SOMEONE_ELSE, _ROLE, _USE = 0, 1, 2, 3

_POSS = r"(?:'s|\u2019s|s')?"
_PEOPLE = (
    r"boss|bosses|manager|managers|mgr|senior|seniors|superiors?|higher[\s-]?ups?"
    r"|higher\s+authorit(?:y|ies)|hod|team\s*lead|reporting\s+manager|cfo|ceo|cto|coo|cmo"
    r"|md|director|directors|founders?|co-?founders?|owners?|malik|maalik|partners?"
    r"|management|mgmt|board|committee|finance(?:\s+team)?|accounts(?:\s+team)?"
    r"|procurement(?:\s+team)?|purchase\s+(?:team|department|dept)|hr|admin|principal"
    r"|trustees?|husband|hubby|wife|spouse|pati|patni|biwi|papa|dad|daddy|father|pitaji"
    r"|mummy|mom|mother|family|parents|gharwal(?:e|on)|bhai|bhaiya|brother|sister|didi"
    r"|sir|madam|ma'?am|saab|sahab|seth|sethji|ca|accountant|team|investors?|legal(?:\s+team)?"
    r"|it\s+team|head\s+office|ho|upar|office|company"
)
_OWN = r"(?:my|our|mere|meri|mera|hamare|humare|hamari|apne|apni|the)"
_D_PEOPLE = (r"मैनेजर|बॉस|मालिक|पति|पत्नी|पापा|पिताजी|मम्मी|भाई|भैया|टीम|मैनेजमेंट|डायरेक्टर"
             r"|सीनियर|घरवालों|परिवार|पार्टनर|सर|साहब|ऊपर|कंपनी|ऑफिस")
_APPROVAL = (r"approvals?|sign[-\s]?off|go[-\s]?ahead|permission|nod|clearance|consent"
             r"|green\s+light|okay|ok|buy[-\s]?in|blessing")
_TITLES = (
    r"co[-\s]?owner|owner|business\s+owner|shop\s+owner|clinic\s+owner|store\s+owner"
    r"|sole\s+proprietor|founder|co[-\s]?founder|cofounder|ceo|c\.e\.o|md|managing\s+director"
    r"|director|proprietor|proprietress|propriter|chairman|chairperson|president|principal"
    r"|boss|decision[-\s]?maker|malik|maalik"
)

_RULES: list[tuple] = []


def _rule(pattern: str, value: str, rank: int, *, negatable: bool = True,
          check=None) -> None:
    _RULES.append((word_rule(pattern), value, rank, negatable, check))


# Decision maker: the approval is given, or not needed.
_rule(r"(?:(?:budget|proposal|purchase|payment|funds?|po|deal|everything|all|it)"
      r"(?:\s+(?:is|has\s+been|was|got|been|now|also|already)){0,2}\s+)?"
      r"(?:approved|sanctioned|signed[-\s]off)(?:\s+by\s+(?:my|our|the)\s+\w+)?",
      DECISION_MAKER, _GIVEN, check=lambda text, m: _approval_given(text, m))
_rule(r"(?:got|have|received|already\s+(?:have|got)|we'?ve\s+got|i'?ve\s+got)\s+"
      r"(?:the\s+|an?\s+|all\s+(?:the\s+)?|final\s+|my\s+|our\s+)?(?:internal\s+)?"
      r"(?:approvals?|sign[-\s]?off|go[-\s]?ahead|green\s+light|nod|clearance|sanction)",
      DECISION_MAKER, _GIVEN)
_rule(r"approval\s+(?:is\s+|has\s+been\s+)?(?:done|received|granted|given|in\s+place|through"
      r"|aa\s+gaya|aa\s+gayi|aa\s+gya|mil\s+gaya|mil\s+gayi|mil\s+gya|mil\s+gyi|ho\s+gaya"
      r"|ho\s+gya|ho\s+gayi|hogaya|mil\s+chuka|mil\s+chuki)"
      r"|approve\s+(?:ho|kar)\s+(?:gaya|gya|gayi|gyi|diya|di|chuka|chuki)"
      r"|budget\s+(?:pass|approve|sanction|clear)\s+ho\s+(?:gaya|gya|gayi|chuka)"
      r"|sanction\s+ho\s+(?:gaya|gya|gayi)"
      r"|(?:मंजूरी|अनुमति|अप्रूवल)\s+मिल\s+(?:गई|गयी|गया|चुकी)|अप्रूव\s+हो\s+(?:गया|गई)"
      r"|बजट\s+पास\s+हो\s+गया", DECISION_MAKER, _GIVEN)
_rule(r"(?:no|without)\s+(?:need\s+(?:for|of)\s+)?(?:any\s+)?(?:approvals?|permission"
      r"|sign[-\s]?off)(?:\s+(?:is\s+)?(?:needed|required|necessary))?"
      r"|(?:don'?t|do\s+not|doesn'?t|does\s+not|won'?t|will\s+not)\s+need\s+"
      r"(?:any(?:one|body)(?:'s|\u2019s)?(?:\s+else(?:'s|\u2019s)?)?\s+|any\s+"
      r"|someone(?:'s|\u2019s)?\s+else(?:'s|\u2019s)?\s+)?(?:approval|permission"
      r"|sign[-\s]?off|go[-\s]?ahead)"
      r"|(?:don'?t|do\s+not|no)\s+(?:need|have)\s+to\s+(?:ask|check\s+with|consult"
      r"|take\s+permission\s+from|get\s+approval\s+from)\s+(?:any(?:one|body)|any\s+one"
      r"|my\s+\w+|our\s+\w+)"
      r"|approval\s+(?:is\s+)?not\s+(?:needed|required|necessary)"
      r"|(?:nobody|no\s+one)(?:'s|\u2019s)?(?:\s+else(?:'s|\u2019s)?)?\s+(?:approval|permission)"
      r"|(?:kisi\s+(?:ki|se)\s+)?(?:approval|permission|ijazat|poochne|puchne|puchhne)\s+ki\s+"
      r"(?:zaroorat|zarurat|jarurat|jaroorat|need)\s+(?:nahi|nhi|nahin)"
      r"|(?:poochna|puchna|puchhna)\s+(?:nahi|nhi)\s+(?:padega|hai)"
      r"|किसी\s+(?:की|से)\s+(?:मंजूरी|अनुमति|पूछने)\s+की\s+(?:जरूरत|आवश्यकता)\s+नहीं",
      DECISION_MAKER, _GIVEN, negatable=False)

# Influencer: someone else must approve or decide.
_rule(rf"(?:need|needs|needed|require|requires|have\s+to\s+(?:get|take|seek)|has\s+to"
      rf"\s+(?:get|take)|must\s+(?:get|take)|to\s+(?:get|take|seek)|seek|seeking|waiting\s+for"
      rf"|awaiting|pending|subject\s+to)\s+(?:(?:the|an?|my|our|his|her|their|final)\s+){{0,2}}"
      rf"(?:(?:{_PEOPLE}){_POSS}\s+)?(?:final\s+)?(?:{_APPROVAL})"
      rf"(?:\s+(?:from|of|by)\s+(?:(?:my|our|the|his|her)\s+)?(?:{_PEOPLE}))?",
      INFLUENCER, _SOMEONE_ELSE)
# "check with" names who is asked; "ask", "talk to" and the like need "my" or "our" (the lead
# may ask to talk to our manager).
_rule(rf"(?:check|checking|discuss|discussing|confirm|confirming|consult|consulting"
      rf"|get\s+back\s+after\s+(?:talking|speaking|checking))(?:\s+(?:it|this|that))?"
      rf"\s+(?:with|by)\s+(?:{_OWN}\s+)?(?:{_PEOPLE}){_POSS}"
      rf"|(?:consult|consulting|ask|asking|talk\s+(?:to|with)|talking\s+(?:to|with)"
      rf"|speak\s+(?:to|with)|speaking\s+(?:to|with)|run\s+(?:it|this)\s+(?:by|past)"
      rf"|(?:take|show|present|forward|propose|pitch)\s+(?:it|this)\s+to"
      rf"|discuss(?:ing)?\s+(?:it|this)\s+with|check(?:ing)?\s+(?:it|this)\s+with)\s+"
      rf"(?:my|our|mere|hamare|apne)\s+(?:{_PEOPLE}){_POSS}",
      INFLUENCER, _SOMEONE_ELSE)
_rule(rf"(?:(?:{_OWN})\s+)?(?:{_PEOPLE}){_POSS}\s+(?:will|would|has\s+to|have\s+to|needs?\s+to"
      r"|must|is\s+going\s+to|are\s+going\s+to|gets?\s+to|shall)?\s*(?:decide|decides"
      r"|take\s+(?:the|a)\s+(?:final\s+)?(?:call|decision)|takes\s+(?:the|a)\s+(?:final\s+)?"
      r"(?:call|decision)|make\s+the\s+(?:final\s+)?(?:call|decision)|makes\s+the\s+(?:final\s+)?"
      r"(?:call|decision)|approve|approves|sign\s+off|signs\s+off|finali[sz]es?"
      r"|ha(?:ve|s)\s+the\s+final\s+(?:say|word)|call\s+the\s+shots)"
      rf"|(?:final\s+)?(?:decision|call|say)\s+(?:is|lies|rests|will\s+be)\s+with\s+(?:{_OWN}\s+)?"
      rf"(?:{_PEOPLE})|(?:up\s*to|depends\s+on)\s+(?:my|our)\s+(?:{_PEOPLE})"
      rf"|(?:my|our)\s+(?:{_PEOPLE})(?:'s|\u2019s)\s+(?:call|decision)",
      INFLUENCER, _SOMEONE_ELSE)
_rule(rf"(?:{_PEOPLE}|ghar|घर)\s+(?:se|ko|ke\s+saath|ke\s+sath|pe|par)\s+(?:(?:ek\s+)?baar\s+)?"
      r"(?:pooch|puch|poochh|puchh|baat|discuss|confirm|consult|dikha|approval|permission"
      r"|ijazat|ijaazat|manzoori|manjuri|sign)\w*(?:\s+(?:lena|leni|karna|karni|karke|kar|ke"
      r"|padega|padegi|hoga|hogi|baad|lenge|lunga|chahiye|lagega|lagegi)){0,3}"
      rf"|(?:{_PEOPLE})\s+(?:ki|ka)\s+(?:approval|permission|ijazat|manzoori|sign|ok|haan)\s+"
      r"(?:chahiye|leni|lena|lagegi|lagega|zaroori)\w*"
      rf"|(?:{_PEOPLE})\s+(?:hi\s+)?(?:decide|final|faisla|tay|approve)\s+(?:kar(?:ega|egi"
      r"|enge|te|ta|ti|na|enge)|karenge|karega|lenge|lega|legi)\w*"
      r"|(?:approval|permission|manzoori|ijazat)\s+(?:lena|leni|chahiye|lagega|lagegi|lagti"
      r"|lagta)\w*(?:\s+(?:hoga|hogi|padega|padegi))?"
      rf"|(?:{_D_PEOPLE})\s+(?:से|को|के\s+साथ)\s+(?:पूछ|बात|मंजूरी|अनुमति|परमिशन|अप्रूवल|डिस्कस"
      r"|कन्फर्म)[\u0900-\u097f]*(?:\s+(?:होगा|होगी|पड़ेगा|पड़ेगी|पडेगा|लेनी|लेना|करनी|करना"
      r"|करके|के\s+बाद|लेंगे|चाहिए)){0,2}"
      rf"|(?:{_D_PEOPLE})\s+की\s+(?:मंजूरी|अनुमति|परमिशन)\s+(?:चाहिए|लेनी|लेना)[\u0900-\u097f]*"
      rf"|(?:{_D_PEOPLE})\s+(?:ही\s+)?(?:फैसला|तय|डिसाइड)\s+(?:कर|ले)[\u0900-\u097f]*"
      r"|(?:मंजूरी|अनुमति)\s+(?:चाहिए|लेनी\s+होगी|लेनी\s+पड़ेगी)",
      INFLUENCER, _SOMEONE_ELSE)
_rule(r"(?:get|getting|gets)\s+(?:it|this|the\s+budget|budget|the\s+proposal|this\s+proposal)"
      r"\s+(?:approved|sanctioned|signed\s+off)"
      r"|(?:needs?|has|have|must|will\s+have|yet)\s+to\s+be\s+(?:approved|sanctioned"
      r"|signed\s+off)"
      r"|approval\s+(?:is\s+)?(?:still\s+)?(?:pending|awaited|required|needed|necessary"
      r"|baaki|baki)"
      r"|(?:once|if|after|when|until|till|unless)\s+(?:it'?s\s+|it\s+is\s+|it\s+gets\s+"
      r"|we\s+get\s+|i\s+get\s+)?(?:approved|sanctioned|approval)",
      INFLUENCER, _SOMEONE_ELSE)
# A negated claim of one's own authority: someone else decides.
_rule(rf"(?:i'?m|i\u2019m|i\s+am|im)\s+not\s+(?:the\s+|a\s+|an\s+)?(?:{_TITLES}"
      r"|one\s+(?:who\s+)?decid\w*|final\s+authority|authori[sz]ed)"
      r"|not\s+(?:my|mine)\s+(?:decision|call|choice)|(?:decision|call)\s+(?:is\s+)?not\s+mine"
      r"|not\s+up\s*to\s+me|(?:i|we)\s+(?:don'?t|do\s+not|can'?t|cannot|can\s+not)\s+"
      r"(?:decide|approve|make\s+(?:the|this)\s+(?:decision|call))"
      r"(?!\s+(?:between|which|what|whether|yet|on\s+which))"
      r"|(?:main|mai|mein)\s+(?:decide|faisla)\s+(?:nahi|nhi)\s+kar\w*"
      r"|(?:main|mai|mein)\s+(?:owner|malik|maalik|decision\s+maker)\s+(?:nahi|nhi)"
      r"|(?:mera|meri)\s+(?:decision|faisla)\s+(?:nahi|nhi)|mere\s+(?:haath|hath)\s+(?:mein|me)"
      r"\s+(?:nahi|nhi)|मैं\s+मालिक\s+नहीं|मेरा\s+फैसला\s+नहीं",
      INFLUENCER, _SOMEONE_ELSE, negatable=False)

# Decision maker: a stated role or the decision is the lead's own.
_rule(rf"(?:i'?m|i\u2019m|i\s+am|iam|im|as|being|this\s+is)\s+(?:just\s+|also\s+|actually\s+)?"
      rf"(?:the\s+|a\s+|an\s+|one\s+of\s+the\s+)?(?:final\s+)?(?:{_TITLES})(?!['\u2019]s)"
      r"|(?:i'?m|i\u2019m|i\s+am|im)\s+(?:a\s+|the\s+|one\s+of\s+the\s+)?(?:managing\s+)?"
      r"partner(?!['\u2019]s)",  # "as a partner" is what we offer, not who they are
      DECISION_MAKER, _ROLE)
_rule(rf"(?:{_TITLES})\s+(?:here|speaking|this\s+side)", DECISION_MAKER, _ROLE)
# A signature or an introduction: "Priya Rao, Founder", "— CEO, Acme".
_rule(r"(?:^|(?<=[,\n|\u2013\u2014-])|(?<=[,\n|\u2013\u2014-][^\S\n])"
      r"|(?<=[,\n|\u2013\u2014-][^\S\n]{2}))(?:founder|co-?founder|ceo|managing\s+director"
      r"|proprietor|owner|director)(?=[^\S\n]*(?:$|[,&\n.!(@]|and\s|of\s|at\s))",
      DECISION_MAKER, _ROLE)
_rule(r"(?:i|we)\s+own(?:\s+(?:the|this|a|an|my|our)\s+[\w\u0900-\u097f]+)?"
      r"|(?:i|we)\s+run\s+(?:a|an|the|my|our)\s+(?:own\s+)?(?:business|company|firm|shop|store"
      r"|clinic|startup|agency|restaurant|salon|gym|studio|school|academy|institute|coaching"
      r"|hospital|hotel|boutique|practice|bakery|cafe|brand)"
      r"|(?:my|our)\s+own\s+(?:business|company|firm|shop|store|clinic|startup|agency|practice"
      r"|brand)"
      r"|(?:mera|meri|apna|apni|khud\s+ka|khud\s+ki)\s+(?:apna\s+|khud\s+ka\s+)?(?:business"
      r"|dukaan|dukan|shop|clinic|firm|store|startup)"
      r"|(?:मेरा|अपना)\s+(?:बिजनेस|व्यापार|व्यवसाय)|(?:मेरी|अपनी)\s+दुकान",
      DECISION_MAKER, _ROLE)
_rule(r"i\s+(?:alone\s+|solely\s+|myself\s+|only\s+|personally\s+)?(?:decide"
      r"|make\s+(?:the\s+|all\s+the\s+|all\s+)?(?:final\s+)?decisions?"
      r"|take\s+(?:the\s+|all\s+the\s+|all\s+)?(?:final\s+)?(?:decisions?|call)"
      r"|call\s+the\s+shots|have\s+the\s+final\s+(?:say|word|call)|sign\s+the\s+(?:cheques?"
      r"|checks?)|approve\s+(?:all\s+)?(?:the\s+)?(?:purchases|budgets?|payments?)"
      r"|(?:hold|own|control)\s+the\s+budget)"
      r"|i(?:'ll|\u2019ll|\s+will|\s+can|'d|\s+would)\s+(?:decide|take\s+the\s+call"
      r"|make\s+the\s+(?:call|decision)|approve\s+it|sign\s+off)"
      r"|(?:it'?s|its|it\s+is|that'?s|this\s+is)\s+(?:my|mine)\s+(?:own\s+)?(?:decision|call"
      r"|choice)|my\s+(?:own\s+)?(?:decision|call)(?=[^\S\n]*(?:$|[\n,.!?;:)]|to\s+make))"
      r"|(?:the\s+)?(?:final\s+)?(?:decision|call|say)\s+is\s+mine"
      r"|decision\s+(?:is\s+)?(?:mera|meri|mere\s+(?:haath|hath|upar|paas))"
      r"|(?:mera|meri)\s+(?:hi\s+)?(?:decision|faisla|marzi|choice)(?:\s+(?:hai|hoga))?"
      r"|(?:main|mai|mein|me)\s+(?:hi\s+|khud\s+)?(?:decide|final|faisla|tay)\s+kar(?:ta|ti"
      r"|unga|ungi|enge|ega|ke)?(?:\s+(?:hoon|hu|hun|hoo|hai))?"
      r"|(?:main|mai|mein)\s+(?:hi\s+)?(?:owner|malik|maalik|founder|director|md|ceo"
      r"|proprietor|boss)\s+(?:hoon|hu|hun|hoo|hai)"
      r"|मैं\s+(?:ही\s+)?(?:मालिक|ओनर|डायरेक्टर|फाउंडर|प्रोप्राइटर|बॉस)\s+हूं"
      r"|मैं\s+(?:ही\s+)?(?:फैसला|तय|डिसाइड)\s+(?:करता|करती|करूंगा|करूंगी)(?:\s+हूं)?"
      r"|फैसला\s+मेरा|मेरा\s+(?:ही\s+)?फैसला",
      DECISION_MAKER, _ROLE)

# User: the lead will use it, sent by someone else to look. Conservative on purpose.
_rule(r"(?:i'?d|i\s+would|i'?ll|i\u2019ll|i\s+will|i\s+am\s+going\s+to)\s+be\s+(?:the\s+one\s+)?"
      r"using\s+(?:it|this|the\s+\w+)"
      r"|(?:i'?m|i\s+am)\s+the\s+(?:one\s+who(?:'ll|\s+will)\s+(?:use|be\s+using)|end[-\s]?user)"
      r"|for\s+(?:my\s+own|my\s+personal|personal)\s+use"
      r"|as\s+an?\s+(?:employee|intern|end[-\s]?user|staff\s+member)"
      r"|(?:i'?m|i\s+am)\s+(?:just\s+|only\s+)?(?:an?\s+)?(?:employee|intern|end[-\s]?user"
      r"|staff\s+member)"
      r"|(?:my|our)\s+(?:company|boss|manager|office|employer|firm|organi[sz]ation|management"
      r"|seniors?|team\s+lead|head)\s+(?:has\s+)?(?:asked|told|wants|assigned|instructed)\s+me"
      r"\s+to\s+(?:look|find|check|explore|research|evaluate|compare|shortlist|get|enquire"
      r"|inquire|source|search)"
      r"|(?:company|boss|office|manager|sir)\s+ne\s+(?:mujhe|muje)\s+(?:bola|kaha|boli|diya)"
      r"|apne\s+(?:use|istemaal|istemal)\s+ke\s+liye|अपने\s+(?:इस्तेमाल|उपयोग)\s+के\s+लिए",
      USER, _USE)

# Words before "approved" that leave it not yet given ("to be approved", "once approved").
_NOT_YET = {"not", "never", "yet", "to", "be", "once", "if", "when", "whenever", "after",
            "until", "till", "unless", "awaiting", "pending", "hopefully", "gets", "get",
            "getting", "being", "needs", "need", "must", "will", "would", "should", "can",
            "could", "may", "might", "pre", "an", "a", "govt", "government", "iso", "fda",
            "rbi", "sebi", "ugc", "aicte", "officially", "legally", "bis", "isi", "ce", "fssai"}
# Words after it that make it an adjective ("an approved vendor"), not an approval.
_APPROVED_THING = {"vendor", "vendors", "supplier", "suppliers", "list", "partner", "partners",
                   "product", "products", "course", "courses", "institute", "center", "centre",
                   "loan", "agency", "brand", "brands", "plan", "plans"}


def _approval_given(text: str, match) -> bool:
    if set(words_before(text, match.start(), 2)) & _NOT_YET:
        return False
    after = words_after(text, match.end(), 2)
    return not (after and after[0] in _APPROVED_THING)


def _counts(text: str, start: int, end: int, negatable: bool, check, match) -> bool:
    if negatable and (negated_before(text, start, 2) or negated_after(text, end, 2)):
        return False
    return check is None or check(text, match)


def read_authority(text: str) -> AuthorityReading | None:
    """Who decides, by the lead's own words, or None when the message does not say."""
    if not isinstance(text, str) or not text:
        return None
    text = text[:READ_LIMIT]
    candidates = []
    for pattern, value, rank, negatable, check in _RULES:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                candidates.append((match.start(), match.end(),
                                   (value, rank, negatable, check, match)))
    for start, end, (value, _rank, negatable, check, match) in sorted(
            resolved(candidates, len(text)), key=lambda c: (c[2][1], c[0])):
        if _counts(text, start, end, negatable, check, match):
            phrase = phrase_of(text, start, end)
            if phrase:
                return AuthorityReading(value=value, phrase=phrase)
    return None


__all__ = ["DECISION_MAKER", "INFLUENCER", "USER", "AuthorityReading", "read_authority"]
