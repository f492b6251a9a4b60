"""Settings: the same names, defaults and errors as the other agents."""
import os

from flowtrace_agent.cli import script_command
from flowtrace_agent.config import AgentConfig, Disabled, Invalid, load_config
from flowtrace_agent.filter import ModuleFilter, ModulePrefix, ModuleRegex, PathPrefix, parse_filter_entries

ROOT = os.path.dirname(os.path.abspath(__file__))


def test_defaults():
    c = load_config({}, ROOT)
    assert isinstance(c, AgentConfig)
    assert (c.protocol, c.endpoint, c.sampler) == ("grpc", "http://localhost:4317", "parentbased_always_on")
    assert (c.capture_args, c.capture_return, c.max_value_bytes) == (False, False, 512)
    assert c.include == [] and c.exclude == []
    assert c.service_name == "tests"  # no pyproject.toml here: the folder's name


def test_service_name_from_pyproject():
    c = load_config({}, os.path.dirname(ROOT))
    assert c.service_name == "flowtrace-agent"
    assert load_config({"OTEL_SERVICE_NAME": "orders"}, ROOT).service_name == "orders"
    assert load_config({"OTEL_RESOURCE_ATTRIBUTES": "service.name=a%20b,team=x"}, ROOT).service_name == "a b"


def test_http_endpoint_gets_the_traces_path():
    c = load_config({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, ROOT)
    assert c.endpoint == "http://c:4318/v1/traces"
    c = load_config({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:1/x"}, ROOT)
    assert c.endpoint == "http://c:1/x"
    assert load_config({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, ROOT).endpoint == "http://localhost:4318/v1/traces"


def test_every_bad_setting_is_named():
    c = load_config(
        {
            "FLOWTRACE_CAPTURE_ARGS": "maybe",
            "FLOWTRACE_CAPTURE_RETURN": "2",
            "FLOWTRACE_MAX_VALUE_BYTES": "8",
            "FLOWTRACE_INCLUDE": "/[/",
            "FLOWTRACE_EXCLUDE": "/(/i",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OTEL_TRACES_SAMPLER": "sometimes",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "localhost",
            "OTEL_RESOURCE_ATTRIBUTES": "novalue",
        },
        ROOT,
    )
    assert isinstance(c, Invalid)
    text = "; ".join(c.problems)
    for name in (
        "FLOWTRACE_CAPTURE_ARGS",
        "FLOWTRACE_CAPTURE_RETURN",
        "FLOWTRACE_MAX_VALUE_BYTES",
        "FLOWTRACE_INCLUDE",
        "FLOWTRACE_EXCLUDE",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_TRACES_SAMPLER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_RESOURCE_ATTRIBUTES",
    ):
        assert name in text


def test_bounds_and_booleans():
    assert load_config({"FLOWTRACE_MAX_VALUE_BYTES": "16"}, ROOT).max_value_bytes == 16
    assert load_config({"FLOWTRACE_MAX_VALUE_BYTES": "1048576"}, ROOT).max_value_bytes == 1048576
    assert isinstance(load_config({"FLOWTRACE_MAX_VALUE_BYTES": "1048577"}, ROOT), Invalid)
    assert isinstance(load_config({"FLOWTRACE_MAX_VALUE_BYTES": "15"}, ROOT), Invalid)
    assert load_config({"FLOWTRACE_CAPTURE_ARGS": "YES", "FLOWTRACE_CAPTURE_RETURN": "1"}, ROOT).capture_return
    assert isinstance(load_config({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, ROOT), Invalid)
    assert load_config({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, ROOT).sampler_ratio == 0.25


def test_unknown_flowtrace_names_and_disabled():
    assert isinstance(load_config({"FLOWTRACE_TOKEN": "x", "FLOWTRACE_INCLUD": "x"}, ROOT), AgentConfig)
    assert isinstance(load_config({"OTEL_SDK_DISABLED": "true", "FLOWTRACE_MAX_VALUE_BYTES": "x"}, ROOT), Disabled)


def test_filter_entry_forms():
    entries, problems = parse_filter_entries("shop, src/, ./app/x.py, /abs/dir, /^shop\\.(api|core)/i", "FLOWTRACE_INCLUDE", "/proj")
    assert problems == []
    assert entries[0] == ModulePrefix("shop")
    assert entries[1] == PathPrefix("/proj/src/")
    assert entries[2] == PathPrefix("/proj/app/x.py")
    assert entries[3] == PathPrefix("/abs/dir")
    assert isinstance(entries[4], ModuleRegex) and entries[4].pattern.search("SHOP.API.x")


def test_default_filter_is_the_project_own_code(tmp_path):
    root = str(tmp_path)
    f = ModuleFilter([], [], root)
    assert f.matches("shop.orders", os.path.join(root, "shop", "orders.py"))
    assert not f.matches("requests", os.path.join(root, ".venv", "lib", "python3.12", "site-packages", "requests", "__init__.py"))
    assert not f.matches("json", os.__file__.replace("os.py", "json/__init__.py"))
    assert not f.matches("elsewhere", "/somewhere/else/elsewhere.py")
    assert not f.matches("__main__", os.path.join(root, "app.py"))
    assert not f.matches("opentelemetry.x", os.path.join(root, "opentelemetry", "x.py"))
    assert not f.matches("ns", None)


def test_include_and_exclude(tmp_path):
    root = str(tmp_path)
    inc, _ = parse_filter_entries("shop,lib/", "FLOWTRACE_INCLUDE", root)
    exc, _ = parse_filter_entries("/\\.tests?\\b/,shop.vendored", "FLOWTRACE_EXCLUDE", root)
    f = ModuleFilter(inc, exc, root)
    assert f.matches("shop.orders", "/anywhere/shop/orders.py")
    assert f.matches("helpers", os.path.join(root, "lib", "helpers.py"))
    assert not f.matches("shop.test.x", "/anywhere/shop/test/x.py")
    assert not f.matches("shop.vendored.y", "/anywhere/shop/vendored/y.py")
    assert not f.matches("other", os.path.join(root, "other.py"))
    # An explicit include may reach into site-packages (as the Node.js agent's package prefixes).
    inc, _ = parse_filter_entries("requests", "FLOWTRACE_INCLUDE", root)
    assert ModuleFilter(inc, [], root).matches("requests.api", "/v/lib/site-packages/requests/api.py")


def test_launcher_runs_plain_scripts_through_run_script():
    assert script_command(["python", "app.py", "x"]) == ["python", "-m", "flowtrace_agent.run_script", "app.py", "x"]
    assert script_command(["/venv/bin/python3.12", "a/b.py"]) == ["/venv/bin/python3.12", "-m", "flowtrace_agent.run_script", "a/b.py"]
    for untouched in (["python", "-m", "shop"], ["python", "-u", "app.py"], ["python", "-c", "x"], ["gunicorn", "app:app"], ["pythonista", "a.py"], ["python"]):
        assert script_command(untouched) == untouched
