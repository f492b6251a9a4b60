"""Payment card numbers, told from numeric IDs by the issuers' ranges and lengths, the Luhn check
digit and what the key says. The same rules as the collector and the Node.js and Java agents; all
pass agents/conformance/masking/cards.json."""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

_L13_19 = (13, 14, 15, 16, 17, 18, 19)
_L14_19 = (14, 15, 16, 17, 18, 19)
_L16_19 = (16, 17, 18, 19)

# IIN ranges published by the networks (ISO/IEC 7812). Left out on purpose: UATP (prefix 1, where
# timestamps live), GPN's broad blocks and 12-digit Maestro.
_RANGES = [
    ("visa", "4", "4", (13, 16, 19)),
    ("mastercard", "51", "55", (16,)),
    ("mastercard", "2221", "2720", (16,)),
    ("amex", "34", "34", (15,)),
    ("amex", "37", "37", (15,)),
    ("discover", "6011", "6011", _L16_19),
    ("discover", "644", "649", _L16_19),
    ("discover", "65", "65", _L16_19),
    ("discover", "622126", "622925", _L16_19),
    ("diners", "300", "305", _L14_19),
    ("diners", "3095", "3095", _L14_19),
    ("diners", "36", "36", _L14_19),
    ("diners", "38", "39", _L14_19),
    ("jcb", "3528", "3589", _L16_19),
    ("unionpay", "62", "62", _L16_19),
    ("unionpay", "8100", "8171", _L16_19),
    ("maestro", "5018", "5018", _L13_19),
    ("maestro", "5020", "5020", _L13_19),
    ("maestro", "5038", "5038", _L13_19),
    ("maestro", "5893", "5893", _L13_19),
    ("maestro", "6304", "6304", _L13_19),
    ("maestro", "6759", "6759", _L13_19),
    ("maestro", "6761", "6763", _L13_19),
    ("mir", "2200", "2204", _L16_19),
    ("borica", "2205", "2205", (16,)),
    ("rupay", "60", "60", (16,)),
    ("rupay", "81", "82", (16,)),
    ("rupay", "508", "508", (16,)),
    ("verve", "506099", "506198", (16, 18, 19)),
    ("verve", "507865", "507964", (16, 18, 19)),
    ("verve", "650002", "650027", (16, 18, 19)),
    ("elo", "5041", "5041", (16,)),
    ("elo", "5066", "5067", (16,)),
    ("elo", "509", "509", (16,)),
    ("elo", "6277", "6277", (16,)),
    ("elo", "6362", "6363", (16,)),
    ("dankort", "5019", "5019", (16,)),
    ("interpayment", "636", "636", _L16_19),
    ("instapayment", "637", "639", (16,)),
    ("troy", "9792", "9792", (16,)),
    ("uzcard", "8600", "8600", (16,)),
    ("uzcard", "5614", "5614", (16,)),
    ("humo", "9860", "9860", (16,)),
]
# Longest prefixes first: where ranges overlap the most specific names the issuer.
_COMPILED = sorted(
    ((issuer, len(lo), int(lo), int(hi), frozenset(lengths)) for issuer, lo, hi, lengths in _RANGES),
    key=lambda r: -r[1],
)
MIN_DIGITS = 13
MAX_DIGITS = 19


def card_issuer(digits: str) -> Optional[str]:
    """The network whose range and length `digits` fit, or None."""
    n = len(digits)
    if n < MIN_DIGITS or n > MAX_DIGITS:
        return None
    for issuer, width, lo, hi, lengths in _COMPILED:
        if n in lengths and lo <= int(digits[:width]) <= hi:
            return issuer
    return None


def luhn_valid(digits: str) -> bool:
    total = 0
    double = False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        double = not double
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    # Luhn first: it turns away 9 numbers in 10.
    return luhn_valid(digits) and card_issuer(digits) is not None


_CARD_WORDS = frozenset(
    ["card", "cards", "pan", "cc", "ccn", "ccnum", "ccnumber", "cardnum", "cardnumber", "cardno", "credit", "creditcard", "debitcard"]
)
_ID_WORDS = frozenset(
    [
        "id", "ids", "uid", "uuid", "guid", "ulid",
        "traceid", "spanid", "requestid", "orderid", "userid", "customerid", "accountid", "transactionid", "txid", "txnid",
        "messageid", "eventid", "objectid", "entityid", "itemid", "productid", "paymentid", "invoiceid",
    ]
)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _key_words(key: str) -> List[str]:
    """'app.orderID' -> ['app', 'order', 'id']."""
    return [w for w in _NON_WORD.split(_CAMEL.sub(r"\1 \2", key).lower()) if w]


def key_names_card(key: str) -> bool:
    return any(w in _CARD_WORDS for w in _key_words(key))


def key_names_id(key: str) -> bool:
    w = _key_words(key)
    return len(w) > 0 and w[-1] in _ID_WORDS


def _id_only(key: str) -> bool:
    return key != "" and not key_names_card(key) and key_names_id(key)


def is_card_integer(value: int, key: str) -> bool:
    """An int is a card number only under a key that names a card."""
    return key_names_card(key) and value >= 0 and is_card_number(str(value))


# Where a run of digit groups starts: not glued to a word or a decimal point before it. Its groups
# and its end are found in code (linear), not by a backtracking pattern.
_NUMBER_START = re.compile(r"(?<![\w-])(?<!\d\.)\d", re.ASCII)
_NAME_CHAR = re.compile(r"[A-Za-z0-9_.-]")
_WORD_OR_DASH = re.compile(r"[\w-]", re.ASCII)


def _is_digit(text: str, i: int) -> bool:
    return 0 <= i < len(text) and "0" <= text[i] <= "9"


def _groups_end(text: str, start: int) -> int:
    i = start
    n = len(text)
    while True:
        while i < n and "0" <= text[i] <= "9":
            i += 1
        if i >= n or text[i] not in " -" or not _is_digit(text, i + 1):
            return i
        i += 1


def _run_end(text: str, start: int, end: int) -> int:
    while True:
        nxt = text[end] if end < len(text) else None
        glued = nxt is not None and (_WORD_OR_DASH.match(nxt) is not None or (nxt == "." and _is_digit(text, end + 1)))
        if not glued:
            return end
        end = text.rfind(" ", 0, end)
        if end <= start:
            return -1


def _cards_in(run: str) -> List[Tuple[int, int]]:
    found: List[Tuple[int, int]] = []
    groups = re.split(r"[ -]", run)
    pos = 0
    i = 0
    while i < len(groups):
        first = groups[i]
        end = -1
        nxt = i + 1
        if MIN_DIGITS <= len(first) <= MAX_DIGITS:
            if is_card_number(first):
                end = pos + len(first)
        elif len(first) == 4:
            # Grow group by group; keep the longest card number.
            sep = run[pos + 4] if pos + 4 < len(run) else None
            digits = first
            at = pos + 4
            j = i + 1
            while j < len(groups) and len(digits) < MAX_DIGITS:
                g = groups[j]
                if (run[at] if at < len(run) else None) != sep or len(g) < 3 or len(g) > 6 or len(digits) + len(g) > MAX_DIGITS:
                    break
                digits += g
                at += 1 + len(g)
                if len(digits) >= MIN_DIGITS and is_card_number(digits):
                    end = at
                    nxt = j + 1
                j += 1
        if end >= 0:
            found.append((pos, end))
        while i < nxt:
            pos += len(groups[i]) + 1
            i += 1
    return found


def _field_name_before(text: str, at: int) -> str:
    """The field name written just before `at`, as in `"orderId": "…"` or `order_id=…`."""
    i = at - 1

    def ch(k: int) -> str:
        return text[k] if 0 <= k < len(text) else ""

    if ch(i) in ('"', "'"):
        i -= 1
    n = 0
    while n < 4 and ch(i) == " ":
        i -= 1
        n += 1
    if ch(i) not in (":", "="):
        return ""
    i -= 1
    n = 0
    while n < 4 and ch(i) == " ":
        i -= 1
        n += 1
    if ch(i) in ('"', "'"):
        i -= 1
    end = i + 1
    while i >= 0 and end - i <= 64 and _NAME_CHAR.match(text[i]):
        i -= 1
    return text[i + 1 : end]


def mask_cards(text: str, key: str, mask: str) -> str:
    """`text` with each card number replaced by `mask` (see agents/conformance/README.md)."""
    if _id_only(key):
        return text
    named = key != "" and key_names_card(key)
    out: List[str] = []
    copied_text = 0
    pos = 0
    while True:
        m = _NUMBER_START.search(text, pos)
        if m is None:
            break
        offset = m.start()
        end = _groups_end(text, offset)
        pos = max(end, offset + 1)
        stop = _run_end(text, offset, end)
        if stop < 0:
            continue
        run = text[offset:stop]
        masked: List[str] = []
        copied = 0
        for start, card_end in _cards_in(run):
            if not named and _id_only(_field_name_before(text, offset + start)):
                continue
            masked.append(run[copied:start])
            masked.append(mask)
            copied = card_end
        if copied == 0:
            continue
        out.append(text[copied_text:offset])
        out.extend(masked)
        out.append(run[copied:])
        copied_text = stop
    if copied_text == 0:
        return text
    out.append(text[copied_text:])
    return "".join(out)
