import { z } from 'zod';

/** The environment variable the config loader reads `hash_key` from (config/load.ts). */
export const HASH_KEY_ENV = 'FLOWTRACE_REDACT_HASH_KEY';
const MIN_HASH_KEY_LENGTH = 16;

export const ACTIONS = ['mask', 'hash', 'drop'] as const;
export type Action = (typeof ACTIONS)[number];
const action = z.enum(ACTIONS);

/** The built-in detectors, in the order they win ties when two match at the same place. */
export const DETECTOR_NAMES = ['jwt', 'auth', 'aws_key', 'email', 'iban', 'credit_card', 'ssn', 'phone', 'ip', 'secret_field'] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

const detector = (enabled: boolean) =>
  z.object({ enabled: z.boolean().default(enabled), action: action.default('mask') }).strict().prefault({});

/**
 * Matched against the last segment of a key (after the last '.'), ignoring case, '-', '_' and
 * camelCase, also as a word suffix: `api_key` covers `apiKey`, `x-api-key`, `X_API_KEY`.
 * An entry containing '.' is matched against the whole key instead (ignoring case).
 */
export const DEFAULT_DENY_KEYS = [
  'password', 'passwd', 'pwd', 'passphrase', 'secret', 'token', 'api_key', 'access_key', 'secret_key',
  'private_key', 'authorization', 'cookie', 'set_cookie', 'session', 'session_id', 'jsessionid', 'phpsessid',
  'credentials', 'credential', 'credit_card', 'card_number', 'cvv', 'cvc', 'ssn',
];

/**
 * Keys never touched, exactly as written (case-sensitive); an entry ending in '*' is a prefix.
 * Identifiers that joins and grouping depend on (correlation IDs above all: stitching joins on
 * them) and low-cardinality semantic-convention keys that never hold personal data.
 */
export const DEFAULT_ALLOW_KEYS = [
  'service.name', 'service.namespace', 'service.version', 'service.instance.id',
  'deployment.environment', 'deployment.environment.name', 'telemetry.sdk.*', 'telemetry.distro.*',
  'http.route', 'http.request.method', 'http.response.status_code', 'url.scheme', 'url.template',
  'network.protocol.name', 'network.protocol.version', 'rpc.system', 'rpc.service', 'rpc.method',
  'db.system', 'db.system.name', 'messaging.system', 'otel.status_code', 'otel.scope.name', 'error.type', 'exception.type',
  'code.function.name', 'code.namespace', 'code.line.number', 'code.lineno',
  'trace_id', 'span_id', 'parent_span_id', 'trace.id', 'span.id', 'traceId', 'spanId',
  'flowtrace.correlation_id', 'correlation_id', 'request_id',
  'http.request.header.x-request-id', 'http.request.header.x-correlation-id',
  'http.response.header.x-request-id', 'http.response.header.x-correlation-id',
  'flowtrace.link.reason', 'flowtrace.orphan', 'flowtrace.filtered_spans',
];

const denyEntry = z.union([
  z.string().min(1, 'must not be empty'),
  z.object({ key: z.string().min(1, 'must not be empty'), action }).strict(),
]);
const allowEntry = z.string().min(1, 'must not be empty');

const customRule = z
  .object({
    /** Used in `[REDACTED:<name>]` and as the metric's `kind` label. */
    name: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'expected a short lower-case name (letters, digits, _)'),
    /** A JavaScript regular expression; every match is redacted. */
    pattern: z.string().min(1, 'must not be empty'),
    ignore_case: z.boolean().default(false),
    action: action.default('mask'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const problem = regexProblem(rule.pattern, rule.ignore_case);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['pattern'] });
  });

export const redactConfigSchema = z
  .object({
    /** Secure by default: on, with the default detectors and key rules. */
    enabled: z.boolean().default(true),
    /** HMAC-SHA256 key for the `hash` action; the config loader also takes it from $FLOWTRACE_REDACT_HASH_KEY. */
    hash_key: z.string().default(''),
    /** Hex digits of the HMAC kept in `[HASHED:<kind>:<hex>]`. */
    hash_length: z.number().int('expected a whole number').min(8, 'must be at least 8').max(64, 'must be at most 64').default(16),
    /** Also redact span names (only where a detector matches). */
    span_names: z.boolean().default(true),
    detectors: z
      .object({
        email: detector(true),
        /**
         * Card numbers: an issuer's IIN range and length (13–19 digits), plain or grouped as printed,
         * Luhn-valid. Ints are numbers unless the key names a card; nothing under an ID-named key is a card.
         */
        credit_card: detector(true),
        /** US social security numbers, NNN-NN-NNNN (or spaces), invalid areas/groups excluded. */
        ssn: detector(true),
        /** International form only: +CC followed by 8–15 digits in all. */
        phone: detector(true),
        /** IPv4 and IPv6 addresses. */
        ip: detector(false),
        jwt: detector(true),
        /** `Bearer <token>` and `Basic <base64 user:password>`; the scheme word is kept. */
        auth: detector(true),
        /** AWS access key IDs (AKIA…/ASIA…) and 40-character secret keys near "aws" or "secret". */
        aws_key: detector(true),
        /** The value of a secret-named field inside a text: `password=…` in a URL, `"token":"…"` in JSON arguments. */
        secret_field: detector(true),
        /** IBANs of known countries' lengths with a valid mod-97 checksum. */
        iban: detector(true),
      })
      .strict()
      .prefault({}),
    custom: z.array(customRule).default([]),
    keys: z
      .object({
        /** What a denied key's value gets, unless its entry names its own action. */
        action: action.default('mask'),
        /** Replaces the default list; use `extra_deny` to add to it. */
        deny: z.array(denyEntry).default([...DEFAULT_DENY_KEYS]),
        extra_deny: z.array(denyEntry).default([]),
        /** Replaces the default list; use `extra_allow` to add to it. Allow wins over deny and detectors. */
        allow: z.array(allowEntry).default([...DEFAULT_ALLOW_KEYS]),
        extra_allow: z.array(allowEntry).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = new Set<string>(DETECTOR_NAMES);
    config.custom.forEach((rule, i) => {
      if (names.has(rule.name)) ctx.addIssue({ code: 'custom', message: `duplicate name "${rule.name}" (built-in detectors and custom rules need distinct names)`, path: ['custom', i, 'name'] });
      names.add(rule.name);
    });
    if (!config.enabled) return;
    const hashedBy = hashUsers(config);
    const key = config.hash_key;
    if (hashedBy && key === '') {
      ctx.addIssue({
        code: 'custom',
        message: `${hashedBy} uses action "hash" but no hash key is set: set processors.redact.hash_key or the ${HASH_KEY_ENV} environment variable`,
        path: ['hash_key'],
      });
    } else if (key !== '' && key.length < MIN_HASH_KEY_LENGTH) {
      ctx.addIssue({ code: 'custom', message: `the hash key must be at least ${MIN_HASH_KEY_LENGTH} characters`, path: ['hash_key'] });
    }
  });

export type RedactConfig = z.output<typeof redactConfigSchema>;

/** The first setting whose action is `hash`, for the error message; undefined when none. */
function hashUsers(config: {
  detectors: Record<string, { enabled: boolean; action: Action }>;
  custom: Array<{ name: string; action: Action }>;
  keys: { action: Action; deny: Array<string | { key: string; action: Action }>; extra_deny: Array<string | { key: string; action: Action }> };
}): string | undefined {
  for (const [name, d] of Object.entries(config.detectors)) if (d.enabled && d.action === 'hash') return `detectors.${name}`;
  for (const rule of config.custom) if (rule.action === 'hash') return `custom rule "${rule.name}"`;
  const entries = [...config.keys.deny, ...config.keys.extra_deny];
  if (config.keys.action === 'hash' && entries.some((e) => typeof e === 'string')) return 'keys.action';
  for (const e of entries) if (typeof e !== 'string' && e.action === 'hash') return `keys deny entry "${e.key}"`;
  return undefined;
}

/** Why a custom pattern cannot be used, or undefined. */
function regexProblem(pattern: string, ignoreCase: boolean): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern, ignoreCase ? 'i' : '');
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
  // A pattern matching the empty string would "redact" between every two characters.
  if (re.test('')) return 'the pattern matches the empty string';
  return undefined;
}
