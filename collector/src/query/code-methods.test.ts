import { describe, expect, it } from 'vitest';
import { baseName, codeMethodsQuery, CodePathError, MAX_CODE_METHODS, normaliseCodePath } from './code-methods.js';

describe('normaliseCodePath', () => {
  it('normalises separators and prefixes the way the SQL normalises stored paths', () => {
    expect(normaliseCodePath('./src//orders\\service.ts')).toBe('src/orders/service.ts');
    expect(normaliseCodePath('/srv/app/x.py')).toBe('/srv/app/x.py');
    expect(normaliseCodePath('C:\\work\\app\\Main.java')).toBe('C:/work/app/Main.java');
    expect(baseName('src/orders/service.ts')).toBe('service.ts');
    expect(baseName('main.rs')).toBe('main.rs');
  });

  it('refuses what is not a file path, naming the problem', () => {
    const refusal = (p: string) => {
      try {
        normaliseCodePath(p);
        return '';
      } catch (err) {
        expect(err).toBeInstanceOf(CodePathError);
        return (err as Error).message;
      }
    };
    expect(refusal('')).toBe('path: expected a file path, e.g. src/orders/service.ts');
    expect(refusal('src/')).toBe('path: expected a file, not a folder');
    expect(refusal('a/../b.js')).toBe("path: '..' segments are not allowed");
    expect(refusal('a\u0000b.js')).toBe('path: control characters are not allowed');
    expect(refusal(`${'a'.repeat(1025)}.js`)).toMatch(/^path: at most 1024 characters/);
  });
});

describe('codeMethodsQuery', () => {
  it('keeps every value a query parameter: the SQL text is the same whatever the path or service', () => {
    const hostile = "x'); DROP TABLE otel_traces; --/a.js";
    const a = codeMethodsQuery({ table: '`db`.`otel_traces`', path: 'src/a.js', startNs: 1n, endNs: 2n, service: 's', limit: 10 });
    const b = codeMethodsQuery({ table: '`db`.`otel_traces`', path: normaliseCodePath(hostile), startNs: 1n, endNs: 2n, service: hostile, limit: 10 });
    expect(b.sql).toBe(a.sql);
    expect(b.sql).not.toContain('DROP');
    expect(b.params).toMatchObject({ path: normaliseCodePath(hostile), slashPath: `/${normaliseCodePath(hostile)}`, base: 'a.js', service: hostile, limit: 10 });
  });

  it('reads the given table (the caller’s read-scope view) and bounds the rows', () => {
    const q = codeMethodsQuery({ table: '`flowtrace_guest_1`.`otel_traces`', path: 'a.js', startNs: 1n, endNs: 2n, limit: MAX_CODE_METHODS });
    expect(q.sql).toContain('FROM `flowtrace_guest_1`.`otel_traces`');
    expect(q.sql).toContain('LIMIT {limit:UInt32}');
    expect(q.sql).not.toContain('{service:String}');
    expect(() => codeMethodsQuery({ table: 't', path: 'a.js', startNs: 1n, endNs: 2n, limit: MAX_CODE_METHODS + 1 })).toThrow(RangeError);
  });
});
