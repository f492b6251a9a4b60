import { describe, expect, it } from 'vitest';
import { colourDistance, contrastRatio, frameColours, hashName, hueIndex, THEMES, type FlameTheme } from './palette';

describe('flame palette', () => {
  it('gives a service the same hue in both themes and on every call', () => {
    expect(hashName('orders')).toBe(hashName('orders'));
    expect(hueIndex('orders')).toBe(hueIndex(String(['or', 'ders'].join(''))));
    expect(THEMES.light.hues.length).toBe(THEMES.dark.hues.length);
    const services = Array.from({ length: 50 }, (_, i) => `service-${i}`);
    // Spread over every hue, not piled on one.
    expect(new Set(services.map(hueIndex)).size).toBe(THEMES.light.hues.length);
    expect(frameColours('orders', 'light').fill).toBe(THEMES.light.hues[hueIndex('orders')]);
    expect(frameColours('orders', 'dark').fill).toBe(THEMES.dark.hues[hueIndex('orders')]);
  });

  it('uses the neutral colour for the root and (other), and the dimmed one for search misses', () => {
    expect(frameColours('', 'light')).toEqual(THEMES.light.neutral);
    expect(frameColours('orders', 'dark', true)).toEqual(THEMES.dark.dimmed);
  });

  it('keeps labels readable and frames visible in both themes', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    for (const theme of ['light', 'dark'] as FlameTheme[]) {
      const t = THEMES[theme];
      const min = theme === 'light' ? 4.5 : 7;
      for (const fill of t.hues) {
        expect(contrastRatio(fill, t.hueText), `${theme} ${fill} label`).toBeGreaterThanOrEqual(min);
        expect(contrastRatio(fill, t.background), `${theme} ${fill} on the page`).toBeGreaterThanOrEqual(4.5);
      }
      for (const c of [t.neutral, t.dimmed]) expect(contrastRatio(c.fill, c.text), `${theme} ${c.fill}`).toBeGreaterThanOrEqual(4.5);
      expect(contrastRatio(t.neutral.fill, t.background)).toBeGreaterThanOrEqual(3);
      expect(contrastRatio(t.outline, t.background)).toBeGreaterThanOrEqual(7);
    }
  });

  it('keeps the hues of a theme apart from each other and from the neutral and dimmed fills', () => {
    expect(colourDistance('#000000', '#000000')).toBe(0);
    for (const theme of ['light', 'dark'] as FlameTheme[]) {
      const t = THEMES[theme];
      const fills = [...t.hues, t.neutral.fill, t.dimmed.fill];
      for (let i = 0; i < fills.length; i++) {
        for (let j = i + 1; j < fills.length; j++) expect(colourDistance(fills[i]!, fills[j]!), `${theme} ${fills[i]} ${fills[j]}`).toBeGreaterThanOrEqual(60);
      }
    }
  });
});
