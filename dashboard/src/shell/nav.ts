/** The pages in the top navigation, in order: only pages that exist (router.tsx) are listed. */
export interface NavEntry {
  to: string;
  label: string;
}

export const NAV: readonly NavEntry[] = [
  { to: '/search', label: 'Search' },
  { to: '/services', label: 'Services' },
  { to: '/compare', label: 'Compare' },
  { to: '/flame', label: 'Flame graph' },
  { to: '/tail', label: 'Live tail' },
  { to: '/sql', label: 'SQL' },
];
