/**
 * The theme in effect, for what CSS cannot colour (canvas): the class shell/theme.ts sets on
 * <html>, else the OS preference; re-rendered when either changes.
 */
import { useSyncExternalStore } from 'react';
import type { FlameTheme } from '../flame/palette';

function current(): FlameTheme {
  const classes = document.documentElement.classList;
  if (classes.contains('theme-dark')) return 'dark';
  if (classes.contains('theme-light')) return 'light';
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function subscribe(onChange: () => void): () => void {
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
  const media = window.matchMedia('(prefers-color-scheme: dark)');
  media.addEventListener('change', onChange);
  return () => {
    observer.disconnect();
    media.removeEventListener('change', onChange);
  };
}

export function useTheme(): FlameTheme {
  return useSyncExternalStore(subscribe, current);
}
