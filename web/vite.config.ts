import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// `npm run dev` (make web-dev): hot reload on :5173 against the platform that `make run` started on :4000.
const platform = process.env.COURSEGRAPH_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  plugins: [react()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      '/graphql': { target: platform, ws: true, changeOrigin: false },
      '/auth': { target: platform, changeOrigin: false },
      // Signed file links (uploads and downloads) are served by the router on its origin.
      '/content': { target: platform, changeOrigin: false },
    },
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    // The router serves these with a year of caching: every file name carries its content hash.
    assetsDir: 'assets',
    // tests/perf/bench_web.py reads it to add up what each route loads.
    manifest: true,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
  },
});
