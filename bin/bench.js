#!/usr/bin/env node
// Runs the benchmark (bench/run.ts) through tsx, as bin/tessera.js runs the server; argv passes through.
import { register } from 'tsx/esm/api';

register();
await import('../bench/run.ts');
