package flowtrace

// Secrets are masked in the agent, before anything leaves the process: by the name they are bound
// to (a parameter, field or key) and by what they look like. The patterns are the other agents'
// (agents/node/src/redact.ts, agents/python/src/flowtrace_agent/redact.py); all pass
// agents/conformance/masking/secrets.json.

import (
	"regexp"
	"strings"
)

// Mask replaces a secret, as in the Node.js, Java and Python agents.
const Mask = "[REDACTED]"

// Compared against the key lower-cased with separators removed, so that `cardNumber`,
// `card_number` and `CARD-NUMBER` are the same word.
var secretKey = regexp.MustCompile(`passw(or)?d|passphrase|^pwd$|secret|token|authori[sz]ation|^auth$|apikey|accesskey|privatekey|credential|cookie` +
	`|sessionid|cardnumber|creditcard|^cardno$|^card$|^pan$|cvv|cvc|^ssn$|^pin$|signature`)

var keySeparators = strings.NewReplacer("-", "", "_", "", ".", "", " ", "", "\t", "", "\n", "", "\r", "")

// IsSecretKey reports whether a value bound to this name is masked whole.
func IsSecretKey(key string) bool {
	if key == "" {
		return false
	}
	return secretKey.MatchString(keySeparators.Replace(strings.ToLower(key)))
}

var (
	bearerRe     = regexp.MustCompile(`(?i)\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]{8,}`)
	jwtRe        = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)
	awsKeyRe     = regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)
	privateKeyRe = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|\z)`)
	// `password=hunter2`, `"token": "abc"`, `api_key: abc` inside free text or query strings; the
	// name's tail is bounded so that no input makes the match costly.
	keyValueRe = regexp.MustCompile(`(?i)((?:passw(?:or)?d|secret|token|api[-_]?key|access[-_]?key|authorization|session[-_]?id)[\w-]{0,64})` +
		`(["']?\s*[=:]\s*["']?)((?:Bearer|Basic|Digest)\s+)?([^\s"'&,;}]+)`)
	// Cheap screen: most strings have none of these features and skip all the patterns.
	maybeSecretRe = regexp.MustCompile(`(?i)\d{4}|bearer|basic|digest|eyJ|AKIA|ASIA|PRIVATE KEY|[=:]`)
)

// replaceMatches is regexp's ReplaceAllStringFunc with the submatch indexes given to f.
func replaceMatches(re *regexp.Regexp, s string, f func(m []int) string) string {
	ms := re.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m[0]])
		b.WriteString(f(m))
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func isJWTBoundary(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// maskJWTs: a JWT starts only where a base64url run starts (RE2 has no look-behind).
func maskJWTs(s string) string {
	var b strings.Builder
	last, pos := 0, 0
	for pos < len(s) {
		loc := jwtRe.FindStringIndex(s[pos:])
		if loc == nil {
			break
		}
		start, end := pos+loc[0], pos+loc[1]
		if start > 0 && isJWTBoundary(s[start-1]) {
			pos = start + 1
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(Mask)
		last, pos = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// MaskSecretsInText masks the parts of free text that look like credentials or card numbers. key is
// the name the text is bound to ("" when none): no card is looked for under a key that names an ID.
func MaskSecretsInText(text, key string) string {
	if !maybeSecretRe.MatchString(text) {
		return text
	}
	out := privateKeyRe.ReplaceAllLiteralString(text, Mask)
	out = maskJWTs(out)
	out = awsKeyRe.ReplaceAllLiteralString(out, Mask)
	out = replaceMatches(keyValueRe, out, func(m []int) string {
		return out[m[2]:m[3]] + out[m[4]:m[5]] + Mask
	})
	out = replaceMatches(bearerRe, out, func(m []int) string {
		whole := out[m[0]:m[1]]
		if strings.HasSuffix(whole, Mask) {
			return whole
		}
		return out[m[2]:m[3]] + " " + Mask
	})
	return MaskCards(out, key, Mask)
}
