#!/usr/bin/env node
// Runs the build in dist/, which `npm install` makes (the `prepare` script) and `npm run build` remakes.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error(
    'tessera: there is no build in dist/; run `npm run build` (npm install runs it too)',
  );
  process.exit(1);
}
await import(main.href);
