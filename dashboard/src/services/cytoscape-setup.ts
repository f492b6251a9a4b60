/** Cytoscape with the dagre layered layout, made to live under the dashboard's CSP. */
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';

/**
 * Cytoscape inserts a `<style>` into <head> (`position: relative` for its container) unless an
 * element with this ID exists; the CSP refuses inline styles, so a marker stands in for it and
 * services.css carries the rule.
 */
const CYTOSCAPE_STYLESHEET_ID = '__________cytoscape_stylesheet';

let registered = false;

export function createCytoscape(options: cytoscape.CytoscapeOptions): cytoscape.Core {
  if (!registered) {
    cytoscape.use(dagre);
    registered = true;
  }
  if (document.getElementById(CYTOSCAPE_STYLESHEET_ID) === null) {
    const marker = document.createElement('meta');
    marker.id = CYTOSCAPE_STYLESHEET_ID;
    marker.name = 'cytoscape-container-style';
    marker.content = 'in services.css';
    document.head.append(marker);
  }
  return cytoscape(options);
}

/** Left to right: callers before the services they call. */
export const LAYERED_LAYOUT = {
  name: 'dagre',
  rankDir: 'LR',
  nodeSep: 50,
  rankSep: 200,
  edgeSep: 20,
  padding: 30,
  fit: true,
  animate: false,
} as const;

/** Zoom at most this far when fitting: a map of two services should not fill the screen with them. */
export const MAX_FIT_ZOOM = 1.25;
