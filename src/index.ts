// Public embedding API: `import { Server } from 'tsnats'`.
export { Server } from './server/server.js';
export type { ServerStats } from './server/server.js';
export { defaultOptions, NATS_COMPAT_VERSION } from './config/options.js';
export type { Options } from './config/options.js';
export type { Logger } from './logging/types.js';
export { TSNATS_VERSION } from './version.js';

import { registerSystem } from './server/features.js';
// Embedded servers get the system account's events and requests too.
registerSystem(async (srv) => (await import('./system/index.js')).createSystem(srv));
