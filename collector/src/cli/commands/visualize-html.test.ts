import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { span, TRACE_A } from '../../analysis/trace-fixture.testing.js';
import { pageData, renderTraceHtml, scriptSafeJson } from './visualize-html.js';

const HOSTILE = '</script><script>alert(1)</script>';
const method = (fn: string) => ({ 'code.namespace': 'Orders', 'code.function.name': fn });

// r 0–100 (api); two calls of Orders.load 10–30, 40–60, each with a db query of 5 ms; a hostile name.
const spans = [
  span('r', '', 0, 100, { name: 'GET /orders', service: 'api', kind: 'Server' }),
  span('l1', 'r', 10, 30, { name: 'load', attributes: method('load') }),
  span('q1', 'l1', 15, 20, { name: 'SELECT', service: 'db', kind: 'Client' }),
  span('l2', 'r', 40, 60, { name: 'load', attributes: method('load') }),
  span('q2', 'l2', 45, 50, { name: 'SELECT', service: 'db', kind: 'Client' }),
  span('h', 'r', 70, 80, { name: HOSTILE, error: 'bad' }),
];

function embedded(html: string): unknown {
  const m = /<script type="application\/json" id="trace-data">([\s\S]*?)<\/script>/.exec(html);
  return JSON.parse(m![1]!);
}

describe('pageData', () => {
  it('rows in tree order with offsets, self times and subtree sizes', () => {
    const data = pageData(TRACE_A, spans);
    expect(data.spans.map((s) => [s.id, s.depth, s.start / 1e6, s.duration / 1e6, s.self / 1e6, s.below])).toEqual([
      ['r', 0, 0, 100, 50, 5],
      ['l1', 1, 10, 20, 15, 1],
      ['q1', 2, 15, 5, 5, 0],
      ['l2', 1, 40, 20, 15, 1],
      ['q2', 2, 45, 5, 5, 0],
      ['h', 1, 70, 10, 10, 0],
    ]);
    expect(data.services).toEqual(['api', 'svc', 'db']);
  });

  it('merges self time by stack of methods for the flame graph', () => {
    const { flame } = pageData(TRACE_A, spans);
    const shape = (f: typeof flame): unknown => [f.name, f.self / 1e6, f.total / 1e6, f.children.map(shape)];
    expect(shape(flame)).toEqual([
      'all', 0, 100,
      [['api: GET /orders', 50, 100, [
        ['Orders.load', 30, 40, [['db: SELECT', 10, 10, []]]],
        [`svc: ${HOSTILE}`, 10, 10, []],
      ]]],
    ]);
  });
});

describe('renderTraceHtml', () => {
  const html = renderTraceHtml(TRACE_A, spans);

  it('cannot be broken out of by span text', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toContain('alert(1)</script>');
    // Exactly the page's own two script elements.
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    const data = embedded(html) as { spans: Array<{ name: string }> };
    expect(data.spans.map((s) => s.name)).toContain(HOSTILE);
    expect(scriptSafeJson({ a: '<!-- \u2028' })).toBe('{"a":"\\u003c!-- \\u2028"}');
  });

  it('is self-contained: no external URL, inline CSS and JS that parses', () => {
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\s(src|href)\s*=/i);
    expect(html).not.toMatch(/@import|url\(/);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    // Only this script may run, and nothing may be fetched.
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'"`);
    expect(() => new Function(script)).not.toThrow();
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });
});

/** Just enough DOM for the page's script: elements with children, style, text and click handlers. */
class FakeElement {
  className = '';
  textContent = '';
  title = '';
  style: Record<string, string> = {};
  children: FakeElement[] = [];
  listeners: Array<() => void> = [];
  appendChild(child: FakeElement): FakeElement {
    this.children.push(child);
    return child;
  }
  addEventListener(_type: string, fn: () => void): void {
    this.listeners.push(fn);
  }
}

describe('the page script', () => {
  it('draws a row per span on the shared axis and collapses and expands subtrees', () => {
    const html = renderTraceHtml(TRACE_A, spans);
    const ids: Record<string, FakeElement> = {};
    for (const id of ['legend', 'waterfall', 'flame']) ids[id] = new FakeElement();
    const dataElement = new FakeElement();
    dataElement.textContent = /<script type="application\/json" id="trace-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    ids['trace-data'] = dataElement;
    const document = {
      getElementById: (id: string) => ids[id],
      createElement: () => new FakeElement(),
      createTextNode: (text: string) => Object.assign(new FakeElement(), { textContent: text }),
    };
    new Function('document', /<script>([\s\S]*?)<\/script>/.exec(html)![1]!)(document);

    const rows = ids.waterfall!.children;
    expect(rows).toHaveLength(6);
    const bar = (i: number) => rows[i]!.children[1]!.children[0]!;
    expect([bar(1).style.left, bar(1).style.width]).toEqual(['10%', '20%']);
    expect(bar(5).className).toBe('bar error');
    const label = (i: number) => rows[i]!.children[0]!.children.map((c) => c.textContent).join('|');
    expect(label(5)).toBe(`|${HOSTILE}|svc`);
    const visible = () => rows.map((r) => r.style.display !== 'none');
    const toggle = (i: number) => rows[i]!.children[0]!.children[0]!;

    toggle(1).listeners[0]!(); // collapse l1
    expect(visible()).toEqual([true, true, false, true, true, true]);
    toggle(0).listeners[0]!(); // collapse the root
    expect(visible()).toEqual([true, false, false, false, false, false]);
    toggle(0).listeners[0]!(); // expand the root: l1 stays collapsed
    expect(visible()).toEqual([true, true, false, true, true, true]);
    expect(toggle(1).textContent).toBe('▸');

    const frames = ids.flame!.children.map((f) => [f.textContent, f.style.width]);
    expect(frames).toContainEqual(['Orders.load', '40%']);
    expect(frames).toContainEqual(['all', '100%']);
  });
});
