import { describe, expect, it } from 'vitest';
import { frameColours } from '../flame/palette';
import { buildServiceMap, edgeId } from './graph-model';
import { MAP_COLOURS, mapElements, mapStylesheet, nodeId } from './map-style';
import type { GraphEdge } from './types';

const edge = (caller: string, callee: string, calls: number, errors: number): GraphEdge => ({ caller, callee, operation: 'op', calls, errors, avgMs: 1, p50Ms: 1, p90Ms: 2, p99Ms: 3 });

describe('mapElements', () => {
  const model = buildServiceMap([edge('web', 'api', 100, 10), edge('api', 'db', 10, 0)], [], 100);

  it("gives each node its service's flame colour and a label with its rate", () => {
    const nodes = mapElements(model, 'light').filter((e) => e.group === 'nodes');
    expect(nodes.map((n) => n.data.id)).toEqual([nodeId('api'), nodeId('web'), nodeId('db')]);
    const api = nodes[0]!.data;
    expect(api.fill).toBe(frameColours('api', 'light').fill);
    expect(api.label).toBe('api\n1 req/s · 10 % err');
    expect(api.border).toBe(MAP_COLOURS.light.bands.high);
    expect(nodes[2]!.data.label).toBe('db\n6 req/min');
    expect(nodes[2]!.data.border).toBe(MAP_COLOURS.light.bands.none);
    // The same service, the other theme's shade of the same hue.
    expect(mapElements(model, 'dark')[0]!.data.fill).toBe(frameColours('api', 'dark').fill);
  });

  it('draws each edge from caller to callee, coloured by its error band, labelled and widened by calls', () => {
    const edges = mapElements(model, 'dark').filter((e) => e.group === 'edges');
    expect(edges.map((e) => e.data)).toEqual([
      { id: edgeId('web', 'api'), source: nodeId('web'), target: nodeId('api'), label: '100 calls · 10 % err\np99 3 ms', colour: MAP_COLOURS.dark.bands.high, width: 8, calls: 100, errors: 10, p99Ms: 3, band: 'high' },
      { id: edgeId('api', 'db'), source: nodeId('api'), target: nodeId('db'), label: '10 calls · 0 % err\np99 3 ms', colour: MAP_COLOURS.dark.bands.none, width: 4.8, calls: 10, errors: 0, p99Ms: 3, band: 'none' },
    ]);
  });
});

describe('mapStylesheet', () => {
  it('reads sizes, colours and labels from the element data, in the theme’s text colour', () => {
    for (const theme of ['light', 'dark'] as const) {
      const sheet = mapStylesheet(theme) as Array<{ selector: string; style: Record<string, unknown> }>;
      const node = sheet.find((b) => b.selector === 'node')!.style;
      const edgeStyle = sheet.find((b) => b.selector === 'edge')!.style;
      expect([node.width, node['background-color'], node.label, node.color]).toEqual(['data(size)', 'data(fill)', 'data(label)', MAP_COLOURS[theme].text]);
      expect([edgeStyle['line-color'], edgeStyle.width, edgeStyle.label]).toEqual(['data(colour)', 'data(width)', 'data(label)']);
    }
  });
});
