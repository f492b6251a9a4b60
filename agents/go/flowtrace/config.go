package flowtrace

// The agent's settings: the same names and meanings as the other agents
// (agents/conformance/README.md), read from the environment. Every problem names its variable.

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultMaxValueBytes is FLOWTRACE_MAX_VALUE_BYTES's default.
const DefaultMaxValueBytes = 512

// Config is what the runtime reads at start.
type Config struct {
	ServiceName   string
	Protocol      string // grpc or http/protobuf
	Endpoint      string // for display
	Include       Filter
	Exclude       Filter
	CaptureArgs   bool
	CaptureReturn bool
	MaxValueBytes int
	Disabled      bool // OTEL_SDK_DISABLED=true: off silently
}

func nonEmpty(v string) string { return strings.TrimSpace(v) }

func parseBool(name, raw string, problems *[]string) bool {
	switch strings.ToLower(nonEmpty(raw)) {
	case "":
		return false
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	}
	*problems = append(*problems, fmt.Sprintf("%s must be true or false (got %q)", name, raw))
	return false
}

func resourceServiceName(raw string) string {
	for _, pair := range strings.Split(raw, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if ok && strings.TrimSpace(k) == "service.name" {
			if s, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
				return s
			}
		}
	}
	return ""
}

// LoadConfig reads the settings from getenv; problems are one message per bad setting.
func LoadConfig(getenv func(string) string) (Config, []string) {
	var problems []string
	c := Config{MaxValueBytes: DefaultMaxValueBytes}
	if strings.EqualFold(nonEmpty(getenv("OTEL_SDK_DISABLED")), "true") {
		c.Disabled = true
		return c, nil
	}
	c.ServiceName = nonEmpty(getenv("OTEL_SERVICE_NAME"))
	if c.ServiceName == "" {
		c.ServiceName = resourceServiceName(getenv("OTEL_RESOURCE_ATTRIBUTES"))
	}
	if c.ServiceName == "" {
		exe, _ := os.Executable()
		c.ServiceName = strings.TrimSuffix(filepath.Base(exe), ".exe")
		if c.ServiceName == "" || c.ServiceName == "." {
			c.ServiceName = "unknown_service:go"
		}
	}
	c.Protocol = nonEmpty(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if c.Protocol == "" {
		c.Protocol = nonEmpty(getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	if c.Protocol == "" {
		c.Protocol = "grpc"
	}
	if c.Protocol != "grpc" && c.Protocol != "http/protobuf" {
		problems = append(problems, fmt.Sprintf("OTEL_EXPORTER_OTLP_PROTOCOL must be one of grpc, http/protobuf (got %q)", c.Protocol))
	}
	endpointVar := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	c.Endpoint = nonEmpty(getenv(endpointVar))
	if c.Endpoint == "" {
		endpointVar = "OTEL_EXPORTER_OTLP_ENDPOINT"
		c.Endpoint = nonEmpty(getenv(endpointVar))
	}
	if c.Endpoint == "" {
		c.Endpoint = "http://localhost:4317"
		if c.Protocol != "grpc" {
			c.Endpoint = "http://localhost:4318"
		}
	} else if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("%s must be a URL such as http://localhost:4317 (got %q)", endpointVar, c.Endpoint))
	}
	var p []string
	c.Include, p = ParseFilter(getenv("FLOWTRACE_INCLUDE"), "FLOWTRACE_INCLUDE")
	problems = append(problems, p...)
	c.Exclude, p = ParseFilter(getenv("FLOWTRACE_EXCLUDE"), "FLOWTRACE_EXCLUDE")
	problems = append(problems, p...)
	c.CaptureArgs = parseBool("FLOWTRACE_CAPTURE_ARGS", getenv("FLOWTRACE_CAPTURE_ARGS"), &problems)
	c.CaptureReturn = parseBool("FLOWTRACE_CAPTURE_RETURN", getenv("FLOWTRACE_CAPTURE_RETURN"), &problems)
	if raw := nonEmpty(getenv("FLOWTRACE_MAX_VALUE_BYTES")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 16 || n > 1048576 || strings.ContainsAny(raw, "+-") {
			problems = append(problems, fmt.Sprintf("FLOWTRACE_MAX_VALUE_BYTES must be an integer from 16 to 1048576 (got %q)", raw))
		} else {
			c.MaxValueBytes = n
		}
	}
	return c, problems
}
