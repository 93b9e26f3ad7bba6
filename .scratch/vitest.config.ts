import { defineConfig } from 'vitest/config';
export default defineConfig({ resolve: { alias: { 'tessera/resource': '/work/wt-mcp/.scratch/stub.ts' } }, test: { include: ['/work/wt-mcp/.scratch/*.test.ts'], root: '/work/wt-mcp' } });
