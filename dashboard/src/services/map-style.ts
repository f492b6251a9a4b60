/**
 * How the service map looks, as plain data for cytoscape: the elements (nodes sized by rate,
 * filled with the service's colour from the flame palette — so a service has the same colour
 * on every page — and edges coloured by their error-rate band) and the stylesheet of each
 * theme. Colour is never the only cue: every edge's label spells its error rate.
 */
import type { ElementDefinition, StylesheetJson } from 'cytoscape';
import { frameColours, type FlameTheme } from '../flame/palette';
import { edgeLabel, edgeWidth, errorBand, formatPercent, formatRate, type ErrorBand, type ServiceMapModel } from './graph-model';

export interface MapColours {
  text: string;
  /** Behind edge labels, so they stay readable across lines. */
  labelBackground: string;
  selected: string;
  bands: Readonly<Record<ErrorBand, string>>;
}

/** Band colours: grey, amber, orange, red; light shades on the dark page, dark ones on the light. */
export const MAP_COLOURS: Readonly<Record<FlameTheme, MapColours>> = {
  light: {
    text: '#1d2129',
    labelBackground: '#ffffff',
    selected: '#2563eb',
    bands: { none: '#8a8f98', low: '#a66f00', medium: '#d9600d', high: '#c62828' },
  },
  dark: {
    text: '#e4e6eb',
    labelBackground: '#111318',
    selected: '#6ea8fe',
    bands: { none: '#7d8590', low: '#e3b341', medium: '#f0883e', high: '#ff6b6b' },
  },
};

/** Cytoscape IDs of nodes: prefixed, as a service name may look like anything. */
export function nodeId(service: string): string {
  return `service:${service}`;
}

export function mapElements(model: ServiceMapModel, theme: FlameTheme): ElementDefinition[] {
  const colours = MAP_COLOURS[theme];
  const maxCalls = Math.max(0, ...model.edges.map((e) => e.calls));
  const nodes: ElementDefinition[] = model.nodes.map((n) => ({
    group: 'nodes',
    data: {
      id: nodeId(n.service),
      service: n.service,
      label: `${n.service}\n${formatRate(n.rate)}${n.errors > 0 ? ` · ${formatPercent(n.errorRatio)} err` : ''}`,
      size: n.size,
      fill: frameColours(n.service, theme).fill,
      // The ring says how many of its requests fail, in the edges' colours.
      border: colours.bands[errorBand(n.errorRatio)],
      requests: n.requests,
    },
  }));
  const edges: ElementDefinition[] = model.edges.map((e) => ({
    group: 'edges',
    data: {
      id: e.id,
      source: nodeId(e.caller),
      target: nodeId(e.callee),
      label: edgeLabel(e),
      colour: colours.bands[e.band],
      width: edgeWidth(e.calls, maxCalls),
      calls: e.calls,
      errors: e.errors,
      p99Ms: e.p99Ms,
      band: e.band,
    },
  }));
  return [...nodes, ...edges];
}

export function mapStylesheet(theme: FlameTheme): StylesheetJson {
  const colours = MAP_COLOURS[theme];
  return [
    {
      selector: 'node',
      style: {
        width: 'data(size)',
        height: 'data(size)',
        'background-color': 'data(fill)',
        'border-width': 2,
        'border-color': 'data(border)',
        label: 'data(label)',
        'text-wrap': 'wrap',
        'text-valign': 'bottom',
        'text-halign': 'center',
        'text-margin-y': 6,
        color: colours.text,
        'font-size': 12,
        'font-family': 'system-ui, sans-serif',
        'text-background-color': colours.labelBackground,
        'text-background-opacity': 0.85,
        'text-background-padding': '2px',
      },
    },
    {
      selector: 'node:selected',
      style: { 'border-width': 4, 'border-color': colours.selected, 'overlay-opacity': 0 },
    },
    {
      selector: 'edge',
      style: {
        width: 'data(width)',
        'line-color': 'data(colour)',
        'target-arrow-color': 'data(colour)',
        'target-arrow-shape': 'triangle',
        'curve-style': 'bezier',
        'arrow-scale': 1.2,
        label: 'data(label)',
        color: colours.text,
        'font-size': 11,
        'font-family': 'system-ui, sans-serif',
        'text-wrap': 'wrap',
        'text-background-color': colours.labelBackground,
        'text-background-opacity': 0.9,
        'text-background-padding': '2px',
      },
    },
    {
      selector: 'edge.faded, node.faded',
      style: { opacity: 0.25 },
    },
  ];
}
