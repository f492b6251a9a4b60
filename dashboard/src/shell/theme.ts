/**
 * Dark or light: the OS's preference unless the user chose one with the toggle. Only that choice
 * is kept (localStorage key `flowtrace.theme`, `dark` or `light`): nothing about the user or data.
 */
export type Theme = 'dark' | 'light';

const KEY = 'flowtrace.theme';

export function storedTheme(): Theme | undefined {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'dark' || value === 'light' ? value : undefined;
  } catch {
    return undefined; // storage disabled: follow the OS
  }
}

export function osTheme(): Theme {
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Sets the class the stylesheet keys its colours on. */
export function applyTheme(theme: Theme): void {
  document.documentElement.classList.toggle('theme-dark', theme === 'dark');
  document.documentElement.classList.toggle('theme-light', theme === 'light');
}

export function chooseTheme(theme: Theme): void {
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
  applyTheme(theme);
}
