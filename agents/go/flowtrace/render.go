package flowtrace

// An argument or return value as a short, type-aware string for a span attribute: strings
// JSON-quoted, secrets masked, containers truncated, cycles named, never more than maxBytes UTF-8
// bytes. It walks values with reflect and stops once the budget is spent, so a huge value costs no
// more than a small one, and it runs no application code: no String(), Error() of a non-error
// value, MarshalJSON or method of any kind is called, except Error() on an error value.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	maxDepth = 3
	ellipsis = "…"
	// Margin past the budget that masking still sees, so that a secret straddling the cut is recognised.
	maskWindowMargin = 48
	maxMapEntries    = 64
)

var quotedMask = quote(Mask)

type writer struct {
	buf       []byte
	limit     int
	maxBytes  int
	truncated bool
}

func newWriter(maxBytes int) *writer { return &writer{limit: maxBytes, maxBytes: maxBytes} }

func (w *writer) push(s string) {
	if w.truncated {
		return
	}
	room := w.limit - len(w.buf)
	if len(s) <= room {
		w.buf = append(w.buf, s...)
		return
	}
	if room > 0 {
		w.buf = append(w.buf, s[:room]...)
	}
	w.truncated = true
}

func (w *writer) finish() string {
	out := string(w.buf)
	if !utf8.ValidString(out) && !w.truncated {
		out = strings.ToValidUTF8(out, "\uFFFD")
	}
	if !w.truncated && len(out) <= w.maxBytes {
		return out
	}
	return CutToBytes(out, max(0, w.maxBytes-len(ellipsis))) + ellipsis
}

// CutToBytes is the longest prefix of s that fits in limit bytes without splitting a character.
func CutToBytes(s string, limit int) string {
	if len(s) <= limit {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	end := limit
	// A continuation byte at end means the character starting before it does not fit.
	for end > 0 && s[end]&0xC0 == 0x80 {
		end--
	}
	return strings.ToValidUTF8(s[:end], "\uFFFD")
}

func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// runePrefix is the byte length of the first n runes of s.
func runePrefix(s string, n int) int {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func (w *writer) pushText(s, key string, quoted bool) {
	windowEnd := runePrefix(s, w.limit+maskWindowMargin)
	cut := windowEnd < len(s)
	head := s[:windowEnd]
	masked := MaskSecretsInText(head, key)
	if !cut {
		if quoted {
			w.push(quote(masked))
		} else {
			w.push(masked)
		}
		return
	}
	visible := withoutMargin(head, masked, w.limit)
	if quoted {
		q := quote(visible)
		w.push(q[:len(q)-1]) // a cut string has no closing quote
	} else {
		w.push(visible)
	}
	w.truncated = true
}

// withoutMargin is the part of masked that comes from the first shown characters of head: nothing
// of the margin masking saw is shown, even when a mask shortened the text.
func withoutMargin(head, masked string, shown int) string {
	at := runePrefix(head, shown)
	if at >= len(head) {
		return masked
	}
	margin := head[at:]
	if strings.HasSuffix(masked, margin) {
		return masked[:len(masked)-len(margin)]
	}
	last := strings.LastIndex(masked, Mask)
	if last < 0 {
		last = 0
	}
	return masked[:max(0, min(len(masked)-len(margin), last))]
}

// FormatValue renders v within maxBytes. key: the parameter or field the value is bound to; an
// ID-named one is never taken for a card.
func FormatValue(v any, maxBytes int, key string) (out string) {
	w := newWriter(maxBytes)
	defer func() {
		if r := recover(); r != nil { // a value the agent cannot read is named by its type
			out = CutToBytes("<"+fmt.Sprintf("%T", v)+">", maxBytes)
		}
	}()
	if v == nil {
		return "nil"
	}
	if IsSecretKey(key) {
		return Mask // a secret-named parameter: the bare mask, as every agent writes it (quoted only inside a value)
	}
	w.write(reflect.ValueOf(v), 0, nil, key)
	return w.finish()
}

// FormatText is free text (an error's message): masked and cut like a string value, not quoted.
func FormatText(text string, maxBytes int) string {
	w := newWriter(maxBytes)
	w.pushText(text, "", false)
	return w.finish()
}

var (
	errorType   = reflect.TypeFor[error]()
	contextType = reflect.TypeFor[context.Context]()
	timeType    = reflect.TypeFor[time.Time]()
	durType     = reflect.TypeFor[time.Duration]()
)

func typeName(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}

func (w *writer) write(v reflect.Value, depth int, ancestors []uintptr, key string) {
	if w.truncated {
		return
	}
	if !v.IsValid() {
		w.push("nil")
		return
	}
	t := v.Type()
	switch t {
	case timeType:
		if v.CanInterface() {
			w.push(v.Interface().(time.Time).Format(time.RFC3339Nano))
			return
		}
	case durType:
		w.push(time.Duration(v.Int()).String())
		return
	}
	if t.Kind() != reflect.Interface && t.Implements(contextType) {
		w.push("<" + typeName(t) + ">")
		return
	}
	if t.Kind() != reflect.Interface && t.Implements(errorType) && v.CanInterface() {
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Map || t.Kind() == reflect.Slice) && v.IsNil() {
			w.push("nil")
			return
		}
		w.push(typeName(t) + ": ")
		w.pushText(v.Interface().(error).Error(), "", false)
		return
	}
	switch t.Kind() {
	case reflect.String:
		w.pushText(v.String(), key, true)
	case reflect.Bool:
		w.push(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.writeInt(strconv.FormatInt(v.Int(), 10), key)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.writeInt(strconv.FormatUint(v.Uint(), 10), key)
	case reflect.Float32, reflect.Float64:
		w.push(strconv.FormatFloat(v.Float(), 'g', -1, t.Bits()))
	case reflect.Complex64, reflect.Complex128:
		w.push(strconv.FormatComplex(v.Complex(), 'g', -1, t.Bits()))
	case reflect.Interface:
		if v.IsNil() {
			w.push("nil")
			return
		}
		w.write(v.Elem(), depth, ancestors, key)
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		if v.IsNil() {
			w.push("nil")
		} else {
			w.push("<" + typeName(t) + ">")
		}
	case reflect.Pointer:
		if v.IsNil() {
			w.push("nil")
			return
		}
		p := v.Pointer()
		for _, a := range ancestors {
			if a == p {
				w.push("[Circular]")
				return
			}
		}
		w.push("&")
		w.write(v.Elem(), depth, append(ancestors, p), key)
	case reflect.Slice:
		if v.IsNil() {
			w.push("nil")
			return
		}
		if t.Elem().Kind() == reflect.Uint8 {
			w.push(typeName(t) + "(" + strconv.Itoa(v.Len()) + ")")
			return
		}
		w.writeList(v, depth, ancestors, key)
	case reflect.Array:
		w.writeList(v, depth, ancestors, key)
	case reflect.Map:
		if v.IsNil() {
			w.push("nil")
			return
		}
		w.writeMap(v, depth, ancestors)
	case reflect.Struct:
		w.writeStruct(v, depth, ancestors)
	default:
		w.push("<" + typeName(t) + ">")
	}
}

func (w *writer) writeInt(decimal, key string) {
	if IsCardInteger(decimal, key) {
		w.push(quotedMask)
		return
	}
	w.push(decimal)
}

func (w *writer) writeList(v reflect.Value, depth int, ancestors []uintptr, key string) {
	if depth >= maxDepth {
		w.push("[" + typeName(v.Type()) + "]")
		return
	}
	w.push("[")
	for i := 0; i < v.Len(); i++ {
		if w.truncated {
			return
		}
		if i > 0 {
			w.push(", ")
		}
		w.write(v.Index(i), depth+1, ancestors, key)
	}
	w.push("]")
}

func (w *writer) writeMap(v reflect.Value, depth int, ancestors []uintptr) {
	if depth >= maxDepth {
		w.push("[" + typeName(v.Type()) + "]")
		return
	}
	stringKeys := v.Type().Key().Kind() == reflect.String
	w.push("{")
	i := 0
	entry := func(k, val reflect.Value) {
		if i > 0 {
			w.push(", ")
		}
		i++
		// An interface-typed key holding a string (map[any]any from YAML) is named like a string key.
		named := k
		if named.Kind() == reflect.Interface && !named.IsNil() {
			named = named.Elem()
		}
		if named.Kind() == reflect.String {
			name := named.String()
			w.push(quote(name) + ": ")
			if IsSecretKey(name) {
				w.push(quotedMask)
			} else {
				w.write(val, depth+1, ancestors, name)
			}
		} else {
			w.write(k, depth+1, ancestors, "")
			w.push(": ")
			w.write(val, depth+1, ancestors, "")
		}
	}
	if v.Len() <= maxMapEntries {
		keys := v.MapKeys()
		if stringKeys {
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		}
		for _, k := range keys {
			if w.truncated {
				return
			}
			entry(k, v.MapIndex(k))
		}
	} else {
		// A big map is walked in place until the budget is spent: no slice of all its keys.
		for it := v.MapRange(); it.Next(); {
			if w.truncated {
				return
			}
			entry(it.Key(), it.Value())
		}
	}
	w.push("}")
}

// wireTags name a field the way clients and files spell it.
var wireTags = []string{"json", "form", "yaml", "xml", "query", "header", "mapstructure", "bson"}

// secretTagged: a field whose wire name is secret-named (Pass with the tag json:"password").
func secretTagged(tag reflect.StructTag) bool {
	if tag == "" {
		return false
	}
	for _, k := range wireTags {
		if v, ok := tag.Lookup(k); ok {
			name, _, _ := strings.Cut(v, ",")
			if IsSecretKey(name) {
				return true
			}
		}
	}
	return false
}

func (w *writer) writeStruct(v reflect.Value, depth int, ancestors []uintptr) {
	t := v.Type()
	if depth >= maxDepth {
		w.push("[" + typeName(t) + "]")
		return
	}
	w.push(typeName(t) + " {")
	for i := 0; i < t.NumField(); i++ {
		if w.truncated {
			return
		}
		if i > 0 {
			w.push(", ")
		}
		f := t.Field(i)
		w.push(quote(f.Name) + ": ")
		if IsSecretKey(f.Name) || secretTagged(f.Tag) {
			w.push(quotedMask)
			continue
		}
		w.write(v.Field(i), depth+1, ancestors, f.Name)
	}
	w.push("}")
}
