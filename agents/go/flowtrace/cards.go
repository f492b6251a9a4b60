package flowtrace

// Payment card numbers, told from numeric IDs by the issuers' ranges and lengths, the Luhn check
// digit and what the key says. The same rules as the collector and the other agents; all pass
// agents/conformance/masking/cards.json.

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type cardRange struct {
	issuer  string
	width   int
	lo, hi  int
	lengths map[int]bool
}

func lens(ns ...int) map[int]bool {
	m := make(map[int]bool, len(ns))
	for _, n := range ns {
		m[n] = true
	}
	return m
}

var (
	l13to19 = []int{13, 14, 15, 16, 17, 18, 19}
	l14to19 = []int{14, 15, 16, 17, 18, 19}
	l16to19 = []int{16, 17, 18, 19}
)

// IIN ranges published by the networks (ISO/IEC 7812). Left out on purpose: UATP (prefix 1, where
// timestamps live), GPN's broad blocks and 12-digit Maestro.
var cardRanges = func() []cardRange {
	raw := []struct {
		issuer, lo, hi string
		lengths        []int
	}{
		{"visa", "4", "4", []int{13, 16, 19}},
		{"mastercard", "51", "55", []int{16}},
		{"mastercard", "2221", "2720", []int{16}},
		{"amex", "34", "34", []int{15}},
		{"amex", "37", "37", []int{15}},
		{"discover", "6011", "6011", l16to19},
		{"discover", "644", "649", l16to19},
		{"discover", "65", "65", l16to19},
		{"discover", "622126", "622925", l16to19},
		{"diners", "300", "305", l14to19},
		{"diners", "3095", "3095", l14to19},
		{"diners", "36", "36", l14to19},
		{"diners", "38", "39", l14to19},
		{"jcb", "3528", "3589", l16to19},
		{"unionpay", "62", "62", l16to19},
		{"unionpay", "8100", "8171", l16to19},
		{"maestro", "5018", "5018", l13to19},
		{"maestro", "5020", "5020", l13to19},
		{"maestro", "5038", "5038", l13to19},
		{"maestro", "5893", "5893", l13to19},
		{"maestro", "6304", "6304", l13to19},
		{"maestro", "6759", "6759", l13to19},
		{"maestro", "6761", "6763", l13to19},
		{"mir", "2200", "2204", l16to19},
		{"borica", "2205", "2205", []int{16}},
		{"rupay", "60", "60", []int{16}},
		{"rupay", "81", "82", []int{16}},
		{"rupay", "508", "508", []int{16}},
		{"verve", "506099", "506198", []int{16, 18, 19}},
		{"verve", "507865", "507964", []int{16, 18, 19}},
		{"verve", "650002", "650027", []int{16, 18, 19}},
		{"elo", "5041", "5041", []int{16}},
		{"elo", "5066", "5067", []int{16}},
		{"elo", "509", "509", []int{16}},
		{"elo", "6277", "6277", []int{16}},
		{"elo", "6362", "6363", []int{16}},
		{"dankort", "5019", "5019", []int{16}},
		{"interpayment", "636", "636", l16to19},
		{"instapayment", "637", "639", []int{16}},
		{"troy", "9792", "9792", []int{16}},
		{"uzcard", "8600", "8600", []int{16}},
		{"uzcard", "5614", "5614", []int{16}},
		{"humo", "9860", "9860", []int{16}},
	}
	out := make([]cardRange, 0, len(raw))
	for _, r := range raw {
		lo, _ := strconv.Atoi(r.lo)
		hi, _ := strconv.Atoi(r.hi)
		out = append(out, cardRange{r.issuer, len(r.lo), lo, hi, lens(r.lengths...)})
	}
	// Longest prefixes first: where ranges overlap the most specific names the issuer.
	sort.SliceStable(out, func(i, j int) bool { return out[i].width > out[j].width })
	return out
}()

const (
	minCardDigits = 13
	maxCardDigits = 19
)

// CardIssuer is the network whose range and length digits fit, or "".
func CardIssuer(digits string) string {
	n := len(digits)
	if n < minCardDigits || n > maxCardDigits {
		return ""
	}
	for _, r := range cardRanges {
		if !r.lengths[n] {
			continue
		}
		p, err := strconv.Atoi(digits[:r.width])
		if err == nil && p >= r.lo && p <= r.hi {
			return r.issuer
		}
	}
	return ""
}

func luhnValid(digits string) bool {
	total := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		total += d
		double = !double
	}
	return total%10 == 0
}

// IsCardNumber: Luhn first, it turns away 9 numbers in 10.
func IsCardNumber(digits string) bool { return luhnValid(digits) && CardIssuer(digits) != "" }

var cardWords = map[string]bool{"card": true, "cards": true, "pan": true, "cc": true, "ccn": true, "ccnum": true, "ccnumber": true,
	"cardnum": true, "cardnumber": true, "cardno": true, "credit": true, "creditcard": true, "debitcard": true}
var idWords = map[string]bool{"id": true, "ids": true, "uid": true, "uuid": true, "guid": true, "ulid": true,
	"traceid": true, "spanid": true, "requestid": true, "orderid": true, "userid": true, "customerid": true, "accountid": true,
	"transactionid": true, "txid": true, "txnid": true, "messageid": true, "eventid": true, "objectid": true, "entityid": true,
	"itemid": true, "productid": true, "paymentid": true, "invoiceid": true}

var camelRe = regexp.MustCompile(`([a-z0-9])([A-Z])`)
var nonWordRe = regexp.MustCompile(`[^a-z0-9]+`)

func keyWords(key string) []string {
	var out []string
	for _, w := range nonWordRe.Split(strings.ToLower(camelRe.ReplaceAllString(key, "$1 $2")), -1) {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

func keyNamesCard(key string) bool {
	for _, w := range keyWords(key) {
		if cardWords[w] {
			return true
		}
	}
	return false
}

func keyNamesID(key string) bool {
	w := keyWords(key)
	return len(w) > 0 && idWords[w[len(w)-1]]
}

func idOnly(key string) bool { return key != "" && !keyNamesCard(key) && keyNamesID(key) }

// IsCardInteger: an integer is a card number only under a key that names a card.
func IsCardInteger(decimal string, key string) bool {
	return key != "" && keyNamesCard(key) && !strings.HasPrefix(decimal, "-") && IsCardNumber(decimal)
}

func isDigitAt(s string, i int) bool { return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9' }

func isWordOrDash(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// numberStart: a digit not glued to a word or dash before it, nor after `<digit>.`.
func numberStart(s string, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			continue
		}
		if i > 0 && isWordOrDash(s[i-1]) {
			continue
		}
		if i > 1 && s[i-1] == '.' && isDigitAt(s, i-2) {
			continue
		}
		return i
	}
	return -1
}

func groupsEnd(s string, start int) int {
	i := start
	for {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i >= len(s) || (s[i] != ' ' && s[i] != '-') || !isDigitAt(s, i+1) {
			return i
		}
		i++
	}
}

func runEnd(s string, start, end int) int {
	for {
		glued := end < len(s) && (isWordOrDash(s[end]) || (s[end] == '.' && isDigitAt(s, end+1)))
		if !glued {
			return end
		}
		end = strings.LastIndex(s[:end], " ")
		if end <= start {
			return -1
		}
	}
}

var groupSepRe = regexp.MustCompile(`[ -]`)

func cardsIn(run string) [][2]int {
	var found [][2]int
	groups := groupSepRe.Split(run, -1)
	pos, i := 0, 0
	for i < len(groups) {
		first := groups[i]
		end := -1
		next := i + 1
		if len(first) >= minCardDigits && len(first) <= maxCardDigits {
			if IsCardNumber(first) {
				end = pos + len(first)
			}
		} else if len(first) == 4 {
			// Grow group by group; keep the longest card number.
			var sep byte
			if pos+4 < len(run) {
				sep = run[pos+4]
			}
			digits := first
			at := pos + 4
			for j := i + 1; j < len(groups) && len(digits) < maxCardDigits; j++ {
				g := groups[j]
				var c byte
				if at < len(run) {
					c = run[at]
				}
				if c != sep || len(g) < 3 || len(g) > 6 || len(digits)+len(g) > maxCardDigits {
					break
				}
				digits += g
				at += 1 + len(g)
				if len(digits) >= minCardDigits && IsCardNumber(digits) {
					end = at
					next = j + 1
				}
			}
		}
		if end >= 0 {
			found = append(found, [2]int{pos, end})
		}
		for i < next {
			pos += len(groups[i]) + 1
			i++
		}
	}
	return found
}

func isNameChar(c byte) bool { return isWordOrDash(c) || c == '.' }

// fieldNameBefore is the field name written just before at, as in `"orderId": "…"` or `order_id=…`.
func fieldNameBefore(s string, at int) string {
	ch := func(k int) byte {
		if k >= 0 && k < len(s) {
			return s[k]
		}
		return 0
	}
	i := at - 1
	if ch(i) == '"' || ch(i) == '\'' {
		i--
	}
	for n := 0; n < 4 && ch(i) == ' '; n++ {
		i--
	}
	if ch(i) != ':' && ch(i) != '=' {
		return ""
	}
	i--
	for n := 0; n < 4 && ch(i) == ' '; n++ {
		i--
	}
	if ch(i) == '"' || ch(i) == '\'' {
		i--
	}
	end := i + 1
	for i >= 0 && end-i <= 64 && isNameChar(s[i]) {
		i--
	}
	if i+1 > end {
		return ""
	}
	return s[i+1 : end]
}

// MaskCards is text with each card number replaced by mask (see agents/conformance/README.md).
func MaskCards(text, key, mask string) string {
	if idOnly(key) {
		return text
	}
	named := key != "" && keyNamesCard(key)
	var out strings.Builder
	copiedText := 0
	pos := 0
	for {
		offset := numberStart(text, pos)
		if offset < 0 {
			break
		}
		end := groupsEnd(text, offset)
		pos = max(end, offset+1)
		stop := runEnd(text, offset, end)
		if stop < 0 {
			continue
		}
		run := text[offset:stop]
		var masked strings.Builder
		copied := 0
		for _, c := range cardsIn(run) {
			if !named && idOnly(fieldNameBefore(text, offset+c[0])) {
				continue
			}
			masked.WriteString(run[copied:c[0]])
			masked.WriteString(mask)
			copied = c[1]
		}
		if copied == 0 {
			continue
		}
		out.WriteString(text[copiedText:offset])
		out.WriteString(masked.String())
		out.WriteString(run[copied:])
		copiedText = stop
	}
	if copiedText == 0 {
		return text
	}
	out.WriteString(text[copiedText:])
	return out.String()
}
