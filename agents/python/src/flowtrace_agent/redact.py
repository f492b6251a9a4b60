"""Secrets are masked in the agent, before anything leaves the process: by the name they are bound
to (a parameter or a key) and by what they look like. The patterns are the Node.js agent's
(agents/node/src/redact.ts); both pass agents/conformance/masking/secrets.json."""
from __future__ import annotations

import re

from .cards import mask_cards

MASK = "[REDACTED]"

# Compared against the key lower-cased with separators removed, so that `cardNumber`,
# `card_number` and `CARD-NUMBER` are the same word.
_SECRET_KEY = re.compile(
    r"passw(or)?d|passphrase|^pwd$|secret|token|authori[sz]ation|^auth$|apikey|accesskey|privatekey|credential|cookie"
    r"|sessionid|cardnumber|creditcard|^cardno$|^card$|^pan$|cvv|cvc|^ssn$|^pin$|signature"
)
_SEPARATORS = re.compile(r"[-_.\s]")


def is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(_SEPARATORS.sub("", key.lower())) is not None


_A = re.ASCII
_BEARER = re.compile(r"\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE | _A)
# Starts only where a base64url run starts (linear, not at every `-` inside one).
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_AWS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", _A)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)")
# `password=hunter2`, `"token": "abc"`, `api_key: abc` inside free text or query strings; the
# name's tail is bounded so that no input makes the match quadratic.
_KEY_VALUE = re.compile(
    r"((?:passw(?:or)?d|secret|token|api[-_]?key|access[-_]?key|authorization|session[-_]?id)[\w-]{0,64})"
    r"([\"']?\s*[=:]\s*[\"']?)((?:Bearer|Basic|Digest)\s+)?([^\s\"'&,;}]+)",
    re.IGNORECASE | _A,
)
# Cheap screen: most strings have none of these features and skip all the patterns.
_MAYBE_SECRET = re.compile(r"\d{4}|bearer|basic|digest|eyJ|AKIA|ASIA|PRIVATE KEY|[=:]", re.IGNORECASE | _A)


def _bearer(m: "re.Match[str]") -> str:
    whole = m.group(0)
    return whole if whole.endswith(MASK) else f"{m.group(1)} {MASK}"


def mask_secrets_in_text(text: str, key: str = "") -> str:
    """The parts of free text that look like credentials or card numbers, masked. `key` is the name
    the text is bound to ('' when none): no card is looked for under a key that names an ID."""
    if _MAYBE_SECRET.search(text) is None:
        return text
    out = _PRIVATE_KEY.sub(MASK, text)
    out = _JWT.sub(MASK, out)
    out = _AWS_KEY.sub(MASK, out)
    out = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    out = _BEARER.sub(_bearer, out)
    return mask_cards(out, key, MASK)
