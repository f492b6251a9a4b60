/** The roles of `flowtrace serve --role` (roles.ts says what each runs); alone, so the config schema can import it. */
export const ROLES = ['all', 'ingest', 'process', 'query'] as const;
export type Role = (typeof ROLES)[number];
