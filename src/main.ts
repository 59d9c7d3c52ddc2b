#!/usr/bin/env node
// The ES module entry point of the executable, for those who spawn
// `node dist/src/main.js`: the launcher itself is CommonJS (src/tsnats.cts,
// the package's "bin"), which starts faster; this only loads it. With
// require(), not import: importing CommonJS from an ES module runs
// cjs-module-lexer (WebAssembly) over it, ~4 MB more RSS.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./tsnats.cjs');
