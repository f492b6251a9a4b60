import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseFilterEntries, type FilterEntry } from './filter.js';
import { parseLogCorrelation, parseLogsExporter, type LogCorrelationMode, type LogsExporter } from './log-settings.js';

export type Protocol = 'grpc' | 'http/protobuf' | 'http/json';
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export interface AgentConfig {
  serviceName: string;
  serviceVersion: string | undefined;
  protocol: Protocol;
  /** The URL the exporter posts to (for HTTP, with `/v1/traces`). */
  endpoint: string;
  sampler: SamplerName;
  samplerRatio: number;
  resourceAttributes: Record<string, string>;
  include: FilterEntry[];
  exclude: FilterEntry[];
  captureArgs: boolean;
  captureReturn: boolean;
  maxValueBytes: number;
  /** Where trace and correlation IDs are added to the application's log lines. */
  logCorrelation: LogCorrelationMode;
  /** Whether log records are exported over OTLP, and how. */
  logsExporter: LogsExporter;
  logsProtocol: Protocol;
  /** The URL the logs exporter posts to (for HTTP, with `/v1/logs`). */
  logsEndpoint: string;
  /** The folder of the application's package.json: base of relative filters. */
  projectRoot: string;
  /** The flowtrace.config.json that was read, if any. */
  configFile: string | undefined;
}

export type ConfigResult =
  /** `notices`: refused values whose default applies, one log line each. */
  | { ok: true; config: AgentConfig; notices: string[] }
  | { ok: true; disabled: true }
  | { ok: false; problems: string[] };

export interface LoadOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The application's entry script (process.argv[1]): where to look for package.json. */
  entry?: string;
}

export const CONFIG_FILE = 'flowtrace.config.json';
export const DEFAULT_MAX_VALUE_BYTES = 512;

const PROTOCOLS: readonly Protocol[] = ['grpc', 'http/protobuf', 'http/json'];
const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

/** Keys of flowtrace.config.json, each the counterpart of an environment variable. */
interface FileConfig {
  serviceName?: string;
  endpoint?: string;
  protocol?: string;
  sampler?: string;
  samplerArg?: number;
  resourceAttributes?: Record<string, string>;
  include?: string | string[];
  exclude?: string | string[];
  captureArgs?: boolean;
  captureReturn?: boolean;
  maxValueBytes?: number;
  logCorrelation?: string;
}

const FILE_KEYS: Record<keyof FileConfig, 'string' | 'number' | 'boolean' | 'list' | 'map'> = {
  serviceName: 'string',
  endpoint: 'string',
  protocol: 'string',
  sampler: 'string',
  samplerArg: 'number',
  resourceAttributes: 'map',
  include: 'list',
  exclude: 'list',
  captureArgs: 'boolean',
  captureReturn: 'boolean',
  maxValueBytes: 'number',
  logCorrelation: 'string',
};

/** The folder holding the nearest package.json above `start`, or undefined. */
export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function readJson(file: string, problems: string[]): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    problems.push(`${file}: ${(err as Error).message}`);
    return undefined;
  }
}

function readFileConfig(file: string, problems: string[]): FileConfig {
  const raw = readJson(file, problems);
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${file}: expected a JSON object`);
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const kind = FILE_KEYS[key as keyof FileConfig];
    if (kind === undefined) {
      problems.push(`${file}: unknown key "${key}" (known: ${Object.keys(FILE_KEYS).join(', ')})`);
      continue;
    }
    const okType =
      kind === 'list'
        ? typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))
        : kind === 'map'
          ? value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string')
          : typeof value === kind;
    if (!okType) {
      const expected = kind === 'list' ? 'a string or an array of strings' : kind === 'map' ? 'an object of strings' : `a ${kind}`;
      problems.push(`${file}: "${key}" must be ${expected}`);
      continue;
    }
    out[key] = value;
  }
  return out as FileConfig;
}

function parseBool(name: string, raw: string | undefined, fallback: boolean, problems: string[]): boolean {
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  problems.push(`${name} must be true or false (got "${raw}")`);
  return fallback;
}

function parseResourceAttributes(raw: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (key === '') {
      problems.push(`OTEL_RESOURCE_ATTRIBUTES: "${pair.trim()}" is not key=value`);
      continue;
    }
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      problems.push(`OTEL_RESOURCE_ATTRIBUTES: the value of "${key}" is not valid percent-encoding`);
    }
  }
  return out;
}

function checkEndpoint(name: string, value: string, problems: string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name} must be a URL such as http://localhost:4317 (got "${value}")`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${name} must use http or https (got "${url.protocol}")`);
    return undefined;
  }
  return value;
}

/** Reads the agent's settings: environment first, then flowtrace.config.json, then defaults. */
export function loadConfig(opts: LoadOptions): ConfigResult {
  const { env } = opts;
  const problems: string[] = [];
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return { ok: true, disabled: true };

  const start = opts.entry ? dirname(resolve(opts.cwd, opts.entry)) : opts.cwd;
  const projectRoot = findProjectRoot(start) ?? findProjectRoot(opts.cwd) ?? opts.cwd;
  const configPath = join(projectRoot, CONFIG_FILE);
  const configFile = existsSync(configPath) ? configPath : undefined;
  const file = configFile ? readFileConfig(configFile, problems) : {};
  const pkg = readPackage(projectRoot);

  const resourceAttributes = {
    ...(file.resourceAttributes ?? {}),
    ...parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES ?? '', problems),
  };
  const serviceName =
    nonEmpty(env.OTEL_SERVICE_NAME) ?? file.serviceName ?? resourceAttributes['service.name'] ?? pkg.name ?? 'unknown_service:node';

  const protocolRaw = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL) ?? file.protocol ?? 'grpc';
  let protocol: Protocol = 'grpc';
  if ((PROTOCOLS as readonly string[]).includes(protocolRaw)) protocol = protocolRaw as Protocol;
  else problems.push(`OTEL_EXPORTER_OTLP_PROTOCOL must be one of ${PROTOCOLS.join(', ')} (got "${protocolRaw}")`);

  const endpoint = resolveEndpoint(env, file, protocol, 'traces', problems);

  const logsProtocolRaw = nonEmpty(env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL) ?? file.protocol ?? 'grpc';
  let logsProtocol: Protocol = protocol;
  if ((PROTOCOLS as readonly string[]).includes(logsProtocolRaw)) logsProtocol = logsProtocolRaw as Protocol;
  else problems.push(`OTEL_EXPORTER_OTLP_LOGS_PROTOCOL must be one of ${PROTOCOLS.join(', ')} (got "${logsProtocolRaw}")`);
  const logsEndpoint = resolveEndpoint(env, file, logsProtocol, 'logs', problems);
  const logCorrelation = parseLogCorrelation(env.FLOWTRACE_LOG_CORRELATION ?? file.logCorrelation);
  const logsExporter = parseLogsExporter(env.OTEL_LOGS_EXPORTER);
  const notices = [logCorrelation.notice, logsExporter.notice].filter((n): n is string => n !== undefined);

  const samplerRaw = nonEmpty(env.OTEL_TRACES_SAMPLER) ?? file.sampler ?? 'parentbased_always_on';
  let sampler: SamplerName = 'parentbased_always_on';
  if ((SAMPLERS as readonly string[]).includes(samplerRaw)) sampler = samplerRaw as SamplerName;
  else problems.push(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')} (got "${samplerRaw}")`);
  let samplerRatio = 1;
  const ratioRaw = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG) ?? (file.samplerArg === undefined ? undefined : String(file.samplerArg));
  if (ratioRaw !== undefined && sampler.endsWith('traceidratio')) {
    const r = Number(ratioRaw);
    if (Number.isFinite(r) && r >= 0 && r <= 1) samplerRatio = r;
    else problems.push(`OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1 (got "${ratioRaw}")`);
  }

  const include = parseFilterEntries(nonEmpty(env.FLOWTRACE_INCLUDE) ?? file.include ?? [], 'FLOWTRACE_INCLUDE');
  const exclude = parseFilterEntries(nonEmpty(env.FLOWTRACE_EXCLUDE) ?? file.exclude ?? [], 'FLOWTRACE_EXCLUDE');
  problems.push(...include.problems, ...exclude.problems);

  const captureArgs = parseBool('FLOWTRACE_CAPTURE_ARGS', env.FLOWTRACE_CAPTURE_ARGS, file.captureArgs ?? false, problems);
  const captureReturn = parseBool('FLOWTRACE_CAPTURE_RETURN', env.FLOWTRACE_CAPTURE_RETURN, file.captureReturn ?? false, problems);
  let maxValueBytes = file.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  const maxRaw = nonEmpty(env.FLOWTRACE_MAX_VALUE_BYTES);
  if (maxRaw !== undefined) maxValueBytes = Number(maxRaw);
  if (!Number.isInteger(maxValueBytes) || maxValueBytes < 16 || maxValueBytes > 1_048_576) {
    problems.push(`FLOWTRACE_MAX_VALUE_BYTES must be an integer from 16 to 1048576 (got "${maxRaw ?? String(file.maxValueBytes)}")`);
  }

  if (problems.length > 0 || endpoint === undefined || logsEndpoint === undefined) return { ok: false, problems };
  return {
    ok: true,
    notices,
    config: {
      serviceName,
      serviceVersion: pkg.version,
      protocol,
      endpoint,
      sampler,
      samplerRatio,
      resourceAttributes,
      include: include.entries,
      exclude: exclude.entries,
      captureArgs,
      captureReturn,
      maxValueBytes,
      logCorrelation: logCorrelation.value,
      logsExporter: logsExporter.value,
      logsProtocol,
      logsEndpoint,
      projectRoot,
      configFile,
    },
  };
}

function resolveEndpoint(env: NodeJS.ProcessEnv, file: FileConfig, protocol: Protocol, signal: 'traces' | 'logs', problems: string[]): string | undefined {
  // The per-signal variable is a full URL; the general one is a base to which HTTP adds /v1/<signal>.
  const signalVariable = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`;
  const perSignal = nonEmpty(env[signalVariable]);
  if (perSignal !== undefined) return checkEndpoint(signalVariable, perSignal, problems);
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT) ?? file.endpoint ?? (protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318');
  // A bad general endpoint is reported once, for traces.
  const checked = checkEndpoint('OTEL_EXPORTER_OTLP_ENDPOINT', base, signal === 'traces' ? problems : []);
  if (checked === undefined || protocol === 'grpc') return checked;
  return `${checked.replace(/\/+$/, '')}/v1/${signal}`;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function readPackage(root: string): { name?: string; version?: string } {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    return {
      name: typeof pkg.name === 'string' && pkg.name !== '' ? pkg.name : undefined,
      version: typeof pkg.version === 'string' ? pkg.version : undefined,
    };
  } catch {
    return {};
  }
}
