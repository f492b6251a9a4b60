import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the collector at `/` (collector/src/server/dashboard.ts): assets under /assets/ with
// hashed names (cached as immutable), no inline script or style (the CSP forbids them), no
// source maps (they would carry this machine's absolute paths).
export default defineConfig({
  plugins: [react()],
  // `npm run dev -w @flowtrace/dashboard`: the API calls go to a running collector (same origin
  // for the browser, so its session cookie and CSP rules hold as in production).
  server: {
    proxy: {
      '/api': process.env.FLOWTRACE_API ?? 'http://127.0.0.1:8686',
      '/auth': process.env.FLOWTRACE_API ?? 'http://127.0.0.1:8686',
    },
  },
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    assetsDir: 'assets',
    // Inlined assets would become data: URLs; keep everything a file under the CSP's 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 700,
  },
});
