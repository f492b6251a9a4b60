#!/usr/bin/env bash
# FlowTrace beside a CI test job: the one script the GitHub Action
# (integrations/github-action/action.yml) and the GitLab template
# (integrations/gitlab/flowtrace.gitlab-ci.yml) run, so both do exactly the same CLI commands.
#
#   flowtrace-ci.sh start            install if needed, start `flowtrace serve` (embedded store,
#                                    loopback), wait until ready, write the agents' settings
#   flowtrace-ci.sh assert [ARGS…]   flowtrace assert over this run's traces → JUnit + JSON
#   flowtrace-ci.sh report [ARGS…]   flowtrace report --html over this run's traces
#   flowtrace-ci.sh stop             stop the collector started by `start` (pid file)
#
# Settings (environment):
#   FLOWTRACE_HOME           the FlowTrace checkout (default: two levels above this script)
#   FLOWTRACE_CI_DIR         state: pid file, log, data, env file (default ${RUNNER_TEMP:-/tmp}/flowtrace-ci)
#   FLOWTRACE_REPORT_DIR     where JUnit, JSON and HTML go (default ./flowtrace-report)
#   FLOWTRACE_CI_RUN_ID      the run's ID, put on every span's resource as ci.run.id and used to
#                            select this run's traces (default: GitHub run ID-attempt, GitLab job ID, else random)
#   FLOWTRACE_OTLP_GRPC_PORT, FLOWTRACE_OTLP_HTTP_PORT, FLOWTRACE_API_PORT   (4317, 4318, 8686; 0 = any free port)
#   FLOWTRACE_ASSERT_FILE    assertions in YAML for `assert` (optional: flags can be given instead)
#   FLOWTRACE_ASSERT_TIMEOUT how long `assert` waits for late spans (default 30s)
#   FLOWTRACE_READY_TIMEOUT  seconds `start` waits for the collector (default 120)
#   FLOWTRACE_INSTALL        1 (default): `npm install` (which builds) when the checkout has no build yet
#
# After `start`, the settings for the tests are in $FLOWTRACE_CI_DIR/env (`. "$FLOWTRACE_CI_DIR/env"`)
# and, on GitHub, in $GITHUB_ENV: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
# OTEL_RESOURCE_ATTRIBUTES (ci.run.id added), FLOWTRACE_API_URL, FLOWTRACE_CI_RUN_ID.
#
# Exit codes: start/stop 0 or 1; assert as flowtrace assert (0 pass, 1 an assertion failed, 2 bad
# input, 3 collector unreachable); report 0, 2 or 3.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLOWTRACE_HOME=${FLOWTRACE_HOME:-$(cd "$HERE/../.." && pwd)}
CI_DIR=${FLOWTRACE_CI_DIR:-${RUNNER_TEMP:-/tmp}/flowtrace-ci}
REPORT_DIR=${FLOWTRACE_REPORT_DIR:-flowtrace-report}
PID_FILE="$CI_DIR/collector.pid"
LOG_FILE="$CI_DIR/collector.log"
STATE_FILE="$CI_DIR/state"
ENV_FILE="$CI_DIR/env"
FLOWTRACE=(node "$FLOWTRACE_HOME/bin/flowtrace.js")

log() { printf 'flowtrace-ci: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The state directory holds a file this script sources and a pid it signals: it must be ours alone
# (a shared /tmp path another user created first could plant either). Created private.
private_dir() {
  (umask 077 && mkdir -p "$CI_DIR")
  [[ -d "$CI_DIR" && ! -L "$CI_DIR" && -O "$CI_DIR" ]] || { log "FLOWTRACE_CI_DIR $CI_DIR is not a directory of this user"; exit 2; }
  local mode
  mode=$(stat -c %a "$CI_DIR" 2>/dev/null || stat -f %Lp "$CI_DIR")
  (( (8#$mode & 8#022) == 0 )) || { log "FLOWTRACE_CI_DIR $CI_DIR is writable by others (mode $mode): use a private directory"; exit 2; }
}

# The pid of the collector `start` launched, if it still runs: the pid file's process must still be
# that collector (its command line names this state directory), never a process that reused the pid.
running_pid() {
  [[ -s "$PID_FILE" ]] || return 1
  local pid args
  pid=$(cat "$PID_FILE")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  args=$(ps -o args= -p "$pid" 2>/dev/null) || return 1
  [[ "$args" == *"flowtrace.js serve --data $CI_DIR/data "* ]] || return 1
  echo "$pid"
}

# The run's values saved by `start` (API URL, run ID, start time), for the later steps;
# FLOWTRACE_CI_RUN_ID set now selects another run's traces on the same collector.
load_state() {
  [[ -s "$STATE_FILE" ]] || { log "no state in $STATE_FILE: run 'flowtrace-ci.sh start' first (same FLOWTRACE_CI_DIR)"; exit 2; }
  private_dir
  # shellcheck source=/dev/null
  . "$STATE_FILE"
  RUN_ID=${FLOWTRACE_CI_RUN_ID:-$RUN_ID}
}

default_run_id() {
  if [[ -n "${GITHUB_RUN_ID:-}" ]]; then echo "${GITHUB_RUN_ID}-${GITHUB_RUN_ATTEMPT:-1}"
  elif [[ -n "${CI_JOB_ID:-}" ]]; then echo "gitlab-${CI_JOB_ID}"
  else echo "local-$(date +%s)-$$-$RANDOM"
  fi
}

# A shell-quoted KEY=VALUE line (the env file is sourced).
env_line() { printf '%s=%q\n' "$1" "$2"; }

# A setting for the tests: exported by the env file, and on GitHub Actions by $GITHUB_ENV, one
# NAME=value per line: a line break in a value (the caller's OTEL_RESOURCE_ATTRIBUTES) would set
# any variable of every later step (NODE_OPTIONS…), so it is refused.
export_setting() {
  [[ "$2" != *$'\n'* && "$2" != *$'\r'* ]] || die "$1: a line break in the value is not allowed"
  printf 'export %s\n' "$(env_line "$1" "$2")" >>"$ENV_FILE"
  if [[ -n "${GITHUB_ENV:-}" ]]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_ENV"; fi
}

cmd_start() {
  private_dir
  if pid=$(running_pid); then die "a collector started here is already running (pid $pid); run stop first"; fi
  if [[ "${FLOWTRACE_INSTALL:-1}" == 1 && ! -f "$FLOWTRACE_HOME/dist/collector/src/cli/main.js" ]]; then
    # The README's install: npm install (its prepare script builds). Not npm ci: chdb's optional
    # packages for other platforms make a lock-exact install fail on some registries.
    log "installing and building FlowTrace in $FLOWTRACE_HOME (npm install)"
    (cd "$FLOWTRACE_HOME" && npm install --no-audit --no-fund >&2)
  fi
  local run_id=${FLOWTRACE_CI_RUN_ID:-$(default_run_id)}
  [[ "$run_id" =~ ^[A-Za-z0-9._:/-]{1,128}$ ]] || die "FLOWTRACE_CI_RUN_ID: 1 to 128 letters, digits or ._:/- expected"
  [[ "${OTEL_RESOURCE_ATTRIBUTES:-}" != *[$'\n\r']* ]] || die "OTEL_RESOURCE_ATTRIBUTES: a line break in the value is not allowed"
  local started_at
  started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  : >"$LOG_FILE"
  # Loopback only, embedded store in the state directory; its own process group, so stop ends it alone.
  local detach=()
  command -v setsid >/dev/null 2>&1 && detach=(setsid)
  "${detach[@]}" "${FLOWTRACE[@]}" serve \
    --data "$CI_DIR/data" \
    --otlp-grpc "127.0.0.1:${FLOWTRACE_OTLP_GRPC_PORT:-4317}" \
    --otlp-http "127.0.0.1:${FLOWTRACE_OTLP_HTTP_PORT:-4318}" \
    --api "127.0.0.1:${FLOWTRACE_API_PORT:-8686}" \
    >>"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  # The "collector ready" log line names the bound addresses (ports may be 0 = any).
  local deadline=$((SECONDS + ${FLOWTRACE_READY_TIMEOUT:-120})) ready=""
  while [[ -z "$ready" ]]; do
    ready=$(grep -m1 '"collector ready"' "$LOG_FILE" || true)
    [[ -n "$ready" ]] && break
    if ! running_pid >/dev/null; then tail -n 40 "$LOG_FILE" >&2; rm -f "$PID_FILE"; die "the collector exited before it was ready (log above)"; fi
    ((SECONDS < deadline)) || { tail -n 40 "$LOG_FILE" >&2; cmd_stop; die "the collector was not ready after ${FLOWTRACE_READY_TIMEOUT:-120}s"; }
    # Waits on the log file growing, not on a guess: `tail -f` returns as soon as a line comes (or 1 s passes).
    timeout 1 tail -n0 -f "$LOG_FILE" 2>/dev/null | head -n1 >/dev/null || true
  done
  local http api
  http=$(node -e 'const r = JSON.parse(process.argv[1]); process.stdout.write(r.http)' "$ready")
  api=$(node -e 'const r = JSON.parse(process.argv[1]); process.stdout.write(r.api)' "$ready")
  local attributes="ci.run.id=$run_id"
  [[ -n "${OTEL_RESOURCE_ATTRIBUTES:-}" ]] && attributes="$OTEL_RESOURCE_ATTRIBUTES,$attributes"
  : >"$ENV_FILE"
  export_setting FLOWTRACE_API_URL "http://$api"
  export_setting FLOWTRACE_CI_RUN_ID "$run_id"
  export_setting OTEL_EXPORTER_OTLP_ENDPOINT "http://$http"
  export_setting OTEL_EXPORTER_OTLP_PROTOCOL "http/protobuf"
  export_setting OTEL_RESOURCE_ATTRIBUTES "$attributes"
  {
    env_line API_URL "http://$api"
    env_line RUN_ID "$run_id"
    env_line STARTED_AT "$started_at"
  } >"$STATE_FILE"
  log "collector ready (pid $(cat "$PID_FILE")): OTLP/HTTP http://$http, API http://$api, run $run_id; settings in $ENV_FILE"
  cat "$ENV_FILE"
}

cmd_assert() {
  load_state
  mkdir -p "$REPORT_DIR"
  local args=(assert --api "$API_URL" --run-id "$RUN_ID" --since "$STARTED_AT"
    --timeout "${FLOWTRACE_ASSERT_TIMEOUT:-30s}"
    --junit "$REPORT_DIR/flowtrace-junit.xml" --json-file "$REPORT_DIR/flowtrace-assert.json")
  [[ -n "${FLOWTRACE_ASSERT_FILE:-}" ]] && args+=(--file "$FLOWTRACE_ASSERT_FILE")
  "${FLOWTRACE[@]}" "${args[@]}" "$@"
}

cmd_report() {
  load_state
  mkdir -p "$REPORT_DIR"
  local args=(report --api "$API_URL" --run-id "$RUN_ID" --since "$STARTED_AT" --html "$REPORT_DIR/flowtrace-report.html")
  [[ -s "$REPORT_DIR/flowtrace-assert.json" ]] && args+=(--assertions "$REPORT_DIR/flowtrace-assert.json")
  "${FLOWTRACE[@]}" "${args[@]}" "$@"
}

cmd_stop() {
  local pid
  [[ -d "$CI_DIR" ]] && private_dir
  if ! pid=$(running_pid); then
    rm -f "$PID_FILE"
    log "no collector running from $PID_FILE"
    return 0
  fi
  kill -TERM "$pid"
  # The collector flushes its queues on SIGTERM: wait for its exit (tail --pid watches the pid), then insist.
  timeout 30 tail --pid="$pid" -f /dev/null 2>/dev/null || true
  if kill -0 "$pid" 2>/dev/null; then
    log "collector $pid still running after 30s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  log "collector $pid stopped"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  assert) shift; cmd_assert "$@" ;;
  report) shift; cmd_report "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) log "usage: flowtrace-ci.sh start|assert|report|stop [ARGS…]"; exit 2 ;;
esac
