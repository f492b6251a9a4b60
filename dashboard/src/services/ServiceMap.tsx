/**
 * The service map on canvas (cytoscape, dagre layered layout: callers left of the services they
 * call). A click on a node selects its service (the page opens its panel), a click on the
 * background clears the selection. The list and the edge table beside it are the keyboard and
 * screen-reader way to the same things.
 */
import type { Core } from 'cytoscape';
import { useEffect, useRef } from 'react';
import type { FlameTheme } from '../flame/palette';
import { createCytoscape, LAYERED_LAYOUT, MAX_FIT_ZOOM } from './cytoscape-setup';
import type { ServiceMapModel } from './graph-model';
import { mapElements, mapStylesheet, nodeId } from './map-style';

export function ServiceMap({ model, theme, selected, onSelect }: { model: ServiceMapModel; theme: FlameTheme; selected: string | undefined; onSelect(service: string | undefined): void }) {
  const container = useRef<HTMLDivElement>(null);
  const cyRef = useRef<Core | undefined>(undefined);
  const select = useRef(onSelect);
  select.current = onSelect;

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const cy = createCytoscape({
      container: el,
      elements: mapElements(model, theme),
      style: mapStylesheet(theme),
      minZoom: 0.2,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: 'single',
    });
    cy.layout(LAYERED_LAYOUT).run();
    fitClamped(cy);
    cy.on('tap', 'node', (event) => select.current(String(event.target.data('service'))));
    cy.on('tap', (event) => {
      if (event.target === cy) select.current(undefined);
    });
    cyRef.current = cy;
    // The panel opening or the window changing size: the map is fitted to its new box again.
    const resize = new ResizeObserver(() => {
      cy.resize();
      fitClamped(cy);
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      cyRef.current = undefined;
      cy.destroy();
    };
  }, [model, theme]);

  // The selection follows the URL: highlighted, its neighbourhood kept, the rest faded.
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.batch(() => {
      cy.elements().unselect().removeClass('faded');
      if (selected === undefined) return;
      const node = cy.getElementById(nodeId(selected));
      if (node.empty()) return;
      node.select();
      cy.elements().difference(node.closedNeighborhood()).addClass('faded');
    });
  }, [selected, model, theme]);

  return (
    <figure className="service-map" data-nodes={model.nodes.length} data-edges={model.edges.length}>
      <div ref={container} className="service-map-canvas" role="img" aria-label={`Service map: ${model.nodes.length} services, ${model.edges.length} caller → callee pairs (listed in the table below)`} />
      <figcaption>
        Node size: request rate. Edge colour: error rate (<span className="band band-none">none</span>, <span className="band band-low">under 1 %</span>,{' '}
        <span className="band band-medium">under 5 %</span>, <span className="band band-high">5 % or more</span>). Click a service for its RED; drag to pan, scroll to zoom.{' '}
        <button type="button" className="link-button" onClick={() => cyRef.current && fitClamped(cyRef.current)}>
          Fit to view
        </button>
      </figcaption>
    </figure>
  );
}

/** Everything in view, but never zoomed in further than MAX_FIT_ZOOM (then centred). */
function fitClamped(cy: Core): void {
  cy.fit(undefined, LAYERED_LAYOUT.padding);
  if (cy.zoom() > MAX_FIT_ZOOM) {
    cy.zoom(MAX_FIT_ZOOM);
    cy.center();
  }
}
