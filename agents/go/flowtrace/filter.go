package flowtrace

// Which packages get their functions traced. Entries (FLOWTRACE_INCLUDE / FLOWTRACE_EXCLUDE,
// comma-separated): import-path prefixes (`example.com/shop`, `example.com/shop/orders`) or
// `/regex/flags` searched in the import path. Read by flowtrace-go at build time (what is
// rewritten) and by the runtime (what of the rewritten code makes spans).

import (
	"fmt"
	"regexp"
	"strings"
)

// Filter is a parsed include or exclude list.
type Filter struct {
	prefixes []string
	patterns []*regexp.Regexp
	text     string
}

// ParseFilter parses a comma-separated list; problems name the setting.
func ParseFilter(raw, setting string) (Filter, []string) {
	var f Filter
	var problems []string
	var kept []string
	for _, item := range strings.Split(raw, ",") {
		text := strings.TrimSpace(item)
		if text == "" {
			continue
		}
		kept = append(kept, text)
		if len(text) >= 3 && text[0] == '/' {
			end := strings.LastIndexByte(text, '/')
			flags := text[end+1:]
			if end > 0 && strings.Trim(flags, "imsU") == "" {
				expr := text[1:end]
				if flags != "" {
					expr = "(?" + flags + ")" + expr
				}
				re, err := regexp.Compile(expr)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: invalid regular expression %s (%v)", setting, text, err))
					continue
				}
				f.patterns = append(f.patterns, re)
				continue
			}
		}
		f.prefixes = append(f.prefixes, text)
	}
	f.text = strings.Join(kept, ",")
	return f, problems
}

// Empty reports whether the list names nothing.
func (f Filter) Empty() bool { return len(f.prefixes) == 0 && len(f.patterns) == 0 }

// String is the list as given, normalised.
func (f Filter) String() string { return f.text }

// Matches reports whether an import path is named by the list. A prefix is a plain prefix, as the
// other agents' package prefixes: `shop` also takes `shopping`.
func (f Filter) Matches(importPath string) bool {
	for _, p := range f.prefixes {
		if strings.HasPrefix(importPath, p) {
			return true
		}
	}
	for _, re := range f.patterns {
		if re.MatchString(importPath) {
			return true
		}
	}
	return false
}
