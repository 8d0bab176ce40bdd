import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// `npm run dev` serves the app with hot reload and sends API calls to the local gateway
// (`make dev`, GATEWAY_HTTP_PORT); `npm run build` writes dist/, which the gateway serves at `/`.
const gateway = `http://127.0.0.1:${process.env.GATEWAY_HTTP_PORT ?? '3000'}`;

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/live': gateway,
      '/dev': gateway,
      '/config.json': gateway,
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  // Unit tests of the client's logic (`npm test`); the browser test is e2e/ (node:test + Playwright).
  test: {
    include: ['src/**/*.test.ts'],
  },
});
