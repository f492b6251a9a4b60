/**
 * The parsed form of a search (see README.md in this folder). Two levels: a trace-level
 * expression whose atoms are span sets (`{ … }` — "the trace has a span where … holds"),
 * structural pairs (`{ A } >> { B }`) and trace fields (`trace.duration > 1s`); inside a span set
 * a span-level expression over one span's fields. Every node keeps the column it starts at, so
 * that later stages (the engine refusing a regex) can still point at the text.
 */

/** Intrinsic span fields, each one column of `otel_traces`. */
export type SpanIntrinsic = 'name' | 'service' | 'kind' | 'status' | 'statusMessage' | 'duration';

/** Fields of the whole trace, computed over its spans in the search window. */
export type TraceField = 'duration' | 'spans' | 'status' | 'rootService' | 'rootName';

/**
 * Where an attribute is: the grammar writes `span.` and `resource.`; `scope` (instrumentation
 * scope) and `event` (any of the span's events) come only from code — Jaeger's tag search
 * (query/jaeger/) looks there too.
 */
export type AttributeScope = 'span' | 'resource' | 'scope' | 'event';

export type SpanField =
  | { type: 'intrinsic'; name: SpanIntrinsic }
  | {
      type: 'attribute';
      scope: AttributeScope;
      key: string;
      /**
       * Compare the stored text as it is, an array as its JSON (Jaeger's tag semantics), instead
       * of the grammar's "any element"; always so for `event`. Set only by code, never parsed.
       */
      asText?: boolean;
    };

export type Operator = '=' | '!=' | '>' | '>=' | '<' | '<=' | '=~' | '!~' | 'contains' | 'startsWith' | 'in' | 'notIn' | 'exists' | 'notExists';

/** A literal. Durations are nanoseconds; numbers keep their text so nothing is lost before the engine parses them. */
export type Value =
  | { type: 'string'; value: string; column: number }
  | { type: 'number'; text: string; column: number }
  | { type: 'duration'; ns: bigint; column: number }
  | { type: 'bool'; value: boolean; column: number };

/** `field op values`: no value for exists / not exists, several for IN, one otherwise. */
export interface Comparison<F> {
  type: 'compare';
  field: F;
  op: Operator;
  values: Value[];
  column: number;
}

export type SpanExpr =
  | { type: 'and' | 'or'; left: SpanExpr; right: SpanExpr }
  | { type: 'not'; expr: SpanExpr }
  | Comparison<SpanField>;

export type TraceExpr =
  | { type: 'and' | 'or'; left: TraceExpr; right: TraceExpr }
  | { type: 'not'; expr: TraceExpr }
  /** The trace has at least one span where `where` holds. */
  | { type: 'spans'; where: SpanExpr; column: number }
  /**
   * The trace has a span matching `ancestor` with a descendant matching `descendant`: a direct
   * child for `>`, any depth up to the cap for `>>`.
   */
  | { type: 'descendant'; ancestor: SpanExpr; descendant: SpanExpr; childOnly: boolean; column: number }
  | Comparison<TraceField>;
