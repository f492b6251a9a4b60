#!/bin/bash
# Run once by the official ClickHouse image at the first start of an empty volume
# (/docker-entrypoint-initdb.d): the identity user SQL runs under (README "The SQL endpoint"),
# read-only with fixed limits, allowed to SELECT from FlowTrace's guest views only. The
# collector's own user (CLICKHOUSE_USER) creates those views. clickhouse-client takes the admin
# credentials from CLICKHOUSE_USER / CLICKHOUSE_PASSWORD in its environment.
set -euo pipefail
[[ "${CLICKHOUSE_GUEST_PASSWORD:-}" =~ ^[A-Za-z0-9_-]{16,}$ ]] || {
  echo "flowtrace-guest.sh: set CLICKHOUSE_GUEST_PASSWORD in .env (16 or more letters, digits, '-' or '_')" >&2
  exit 2
}
clickhouse client --multiquery <<SQL
CREATE SETTINGS PROFILE IF NOT EXISTS flowtrace_guest SETTINGS
  readonly = 1 CONST, max_execution_time = 30 MAX 30, max_memory_usage = 1073741824 MAX 1073741824,
  max_rows_to_read = 1000000000 MAX 1000000000, max_bytes_to_read = 107374182400 MAX 107374182400,
  max_result_rows = 10001 MAX 10001, max_result_bytes = 33554432 MAX 33554432, max_block_size = 8192 MAX 8192,
  result_overflow_mode = 'break', max_threads = 2 MAX 2, allow_introspection_functions = 0 CONST;
CREATE USER IF NOT EXISTS flowtrace_guest IDENTIFIED BY '${CLICKHOUSE_GUEST_PASSWORD}' SETTINGS PROFILE 'flowtrace_guest';
GRANT SELECT ON \`flowtrace_guest%\`.* TO flowtrace_guest;
SQL
