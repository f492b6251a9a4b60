import { describe, expect, it } from 'vitest';
import { findSiblingGroups } from './groups.js';
import { TraceView } from './rows.js';
import { attributeMatches, errorNodes, jumpToError, nextInTreeOrder, searchSpans } from './search.js';
import { decodeSkeleton } from './skeleton.js';
import { skeletonOf, type TestSpan } from './skeleton.testing.js';
import { buildTree } from './tree.js';

const SPANS: TestSpan[] = [
  { id: '00000000000000a1', parent: '', start: 0, end: 100, service: 'front', name: 'GET /cart' },
  { id: '00000000000000a2', parent: '00000000000000a1', start: 10, end: 50, service: 'cart', name: 'CartService.load', error: true },
  { id: '00000000000000a3', parent: '00000000000000a2', start: 11, end: 40, service: 'cart', name: 'CartRepository.find', error: true },
  { id: '00000000000000a4', parent: '00000000000000a1', start: 60, end: 90, service: 'pricing', name: 'PriceCalculator.total' },
  { id: '00000000000000a5', parent: '00000000000000a4', start: 61, end: 80, service: 'pricing', name: 'TaxTable.lookup', error: true },
];
const setup = () => {
  const tree = buildTree(decodeSkeleton(skeletonOf(SPANS)));
  return { tree, view: new TraceView(tree, findSiblingGroups(tree)) };
};
const idOf = (view: TraceView, row: number) => view.tree.data.spanIds[view.nodeOfRow(row)];

describe('searchSpans', () => {
  it('matches span names and services case-insensitively, in tree order', () => {
    const { tree } = setup();
    const names = (q: string) => Array.from(searchSpans(tree, q).nodes, (v) => tree.data.names[tree.data.name[v]!]);
    expect(names('cart')).toEqual(['GET /cart', 'CartService.load', 'CartRepository.find']);
    expect(names('PRICING')).toEqual(['PriceCalculator.total', 'TaxTable.lookup']);
    expect(names('00000000000000a4')).toEqual(['PriceCalculator.total']);
    expect(names('  ')).toEqual([]);
  });

  it('reveals matches hidden in collapsed subtrees', () => {
    const { tree, view } = setup();
    view.expandToDepth(1);
    expect(view.length).toBe(3);
    view.revealAll(searchSpans(tree, 'lookup').nodes);
    expect(Array.from({ length: view.length }, (_, r) => idOf(view, r))).toEqual(['00000000000000a1', '00000000000000a2', '00000000000000a4', '00000000000000a5']);
  });
});

describe('next / previous error', () => {
  it('walks errors in tree order from a row, wrapping around, revealing collapsed ones', () => {
    const { tree, view } = setup();
    const errors = errorNodes(tree);
    view.expandToDepth(1);
    let row = jumpToError(view, errors, 0, 1)!;
    expect(idOf(view, row)).toBe('00000000000000a2');
    row = jumpToError(view, errors, row, 1)!;
    expect(idOf(view, row)).toBe('00000000000000a3');
    row = jumpToError(view, errors, row, 1)!;
    expect(idOf(view, row)).toBe('00000000000000a5');
    row = jumpToError(view, errors, row, 1)!;
    expect(idOf(view, row)).toBe('00000000000000a2');
    row = jumpToError(view, errors, row, -1)!;
    expect(idOf(view, row)).toBe('00000000000000a5');
    row = jumpToError(view, errors, row, -1)!;
    expect(idOf(view, row)).toBe('00000000000000a3');
  });

  it('has nothing to jump to in a trace without errors', () => {
    const tree = buildTree(decodeSkeleton(skeletonOf(SPANS.map((s) => ({ ...s, error: false })))));
    expect(nextInTreeOrder(tree, errorNodes(tree), 0, 1)).toBeUndefined();
  });
});

describe('attributeMatches', () => {
  it('finds the query in attribute keys and values of a span loaded on demand', () => {
    const details = {
      span: {
        attributes: { 'http.route': '/cart/:id', 'cart.items': 3, 'flowtrace.args.0': '"SKU-991"' },
        resource: { attributes: { 'host.name': 'cart-7' } },
        events: [{ name: 'exception', attributes: { 'exception.message': 'sku-991 out of stock' } }],
      },
    };
    expect(attributeMatches(details, 'sku-991')).toEqual(['flowtrace.args.0="SKU-991"', 'exception.exception.message=sku-991 out of stock']);
    expect(attributeMatches(details, 'cart')).toEqual(['http.route=/cart/:id', 'cart.items=3', 'resource.host.name=cart-7']);
    expect(attributeMatches(details, ' ')).toEqual([]);
  });
});
