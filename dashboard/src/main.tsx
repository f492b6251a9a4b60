import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router';
import './styles.css';
import { router } from './router';
import { startSession } from './session/session';
import { applyTheme, osTheme, storedTheme } from './shell/theme';

applyTheme(storedTheme() ?? osTheme());
// Follow the OS while the user has not chosen.
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  if (storedTheme() === undefined) applyTheme(osTheme());
});
void startSession();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
