#!/usr/bin/env node
// `npm run demo`: the main job. Until the end-to-end demo lands, says so.
console.log('ccgpu demo: not yet available');
