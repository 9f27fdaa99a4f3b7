import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/**
 * The operator console's bundle: Preact pages, served by the hub from `console/dist` under
 * `/console/` (core/http/console-route.ts). No CDN: everything the pages load is in the bundle.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [preact()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The hub's CSP allows scripts and styles from this origin only; no inline module preload polyfill.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 300,
  },
});
