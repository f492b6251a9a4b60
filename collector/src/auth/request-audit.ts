// What the audit hook needs to know about a request beyond what Fastify records: set by the
// auth and Host hooks (why it was refused) and by handlers that know their result's row count.
declare module 'fastify' {
  interface FastifyRequest {
    /** The audit action of a refusal (`auth.failure`, `host.refused`), with its message in `auditError`. */
    auditFailure?: string;
    auditError?: string;
    /** Rows in the result, where the handler knows it. */
    auditRows?: number;
  }
}

export {};
