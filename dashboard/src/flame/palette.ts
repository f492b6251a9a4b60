/**
 * Flame-graph colours: one hue per service, the same service the same colour on every page and
 * in both themes (a hash of its name, not its rank in the current view), from six of the
 * Okabe–Ito colour-blind-safe hues: blue, vermillion, bluish green, reddish purple, orange, and a
 * violet in place of sky blue (too close to blue once darkened); yellow is left out because its
 * dark shade is an olive too close to the orange's. More than six services share hues: the
 * label and tooltip tell them apart.
 *
 * Each theme has its own shade of each hue, chosen for contrast (palette.test.ts checks it):
 * - light theme: dark shades, white labels ≥ 4.5:1, the fill against the white page ≥ 4.5:1;
 * - dark theme: light shades, black labels ≥ 7:1, the fill against the dark page ≥ 6:1.
 * Colour is never the only cue: the label and the tooltip name the service and method.
 */
export type FlameTheme = 'light' | 'dark';

export interface FrameColours {
  fill: string;
  text: string;
}

export interface ThemeColours {
  /** Fills by hue, the same order in both themes. */
  hues: readonly string[];
  /** Label colour on a hue. */
  hueText: string;
  /** The synthetic root and `(other)`: not a service. */
  neutral: FrameColours;
  /** Frames that do not match the current search. */
  dimmed: FrameColours;
  background: string;
  /** Outline of the hovered or focused frame. */
  outline: string;
}

export const THEMES: Readonly<Record<FlameTheme, ThemeColours>> = {
  light: {
    hues: ['#0072B2', '#bb5300', '#00825f', '#b94786', '#976800', '#6F5FD0'],
    hueText: '#ffffff',
    neutral: { fill: '#5f6670', text: '#ffffff' },
    dimmed: { fill: '#dfe2e6', text: '#3d434b' },
    background: '#ffffff',
    outline: '#111418',
  },
  dark: {
    hues: ['#009cf4', '#f66d00', '#00ab7c', '#cd7da9', '#E69F00', '#988cdd'],
    hueText: '#000000',
    neutral: { fill: '#a8b0ba', text: '#000000' },
    dimmed: { fill: '#2a2f36', text: '#b9c1ca' },
    background: '#14161a',
    outline: '#f4f6f8',
  },
};

/** FNV-1a over UTF-16 code units: stable across sessions and browsers, no dependency. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Index of a service's hue; '' (root, `(other)`) has none. */
export function hueIndex(service: string): number {
  return hashName(service) % THEMES.light.hues.length;
}

/** Fill and label colour of a frame of `service`; `dimmed` when a search is on and it does not match. */
export function frameColours(service: string, theme: FlameTheme, dimmed = false): FrameColours {
  const colours = THEMES[theme];
  if (dimmed) return colours.dimmed;
  if (service === '') return colours.neutral;
  return { fill: colours.hues[hueIndex(service)]!, text: colours.hueText };
}

/** "Redmean" distance between two `#rrggbb` colours: a cheap perceptual approximation (0 to ~765). */
export function colourDistance(a: string, b: string): number {
  const [r1, g1, b1] = rgb(a);
  const [r2, g2, b2] = rgb(b);
  const r = (r1 + r2) / 2;
  return Math.sqrt((2 + r / 256) * (r1 - r2) ** 2 + 4 * (g1 - g2) ** 2 + (2 + (255 - r) / 256) * (b1 - b2) ** 2);
}

function rgb(hex: string): [number, number, number] {
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

/** WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const la = luminance(a);
  const lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function luminance(hex: string): number {
  const channel = (i: number) => {
    const v = parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}
