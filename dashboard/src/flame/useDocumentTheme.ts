/**
 * The theme the page shows now (shell/theme.ts sets a class on <html>; without one, the OS
 * preference): the canvas draws its own colours, so it must follow the toggle and the OS.
 */
import { useEffect, useState } from 'react';
import type { FlameTheme } from './palette';

function currentTheme(): FlameTheme {
  const classes = document.documentElement.classList;
  if (classes.contains('theme-dark')) return 'dark';
  if (classes.contains('theme-light')) return 'light';
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function useDocumentTheme(): FlameTheme {
  const [theme, setTheme] = useState<FlameTheme>(currentTheme);
  useEffect(() => {
    const update = () => setTheme(currentTheme());
    const observer = new MutationObserver(update);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    media.addEventListener('change', update);
    return () => {
      observer.disconnect();
      media.removeEventListener('change', update);
    };
  }, []);
  return theme;
}
