// Public embedding API: `import { Server } from 'tsnats'`.
// JetStream registers itself with the core; its code loads only when enabled.
import './jetstream/index.js';
import './system/register.js';
export { Server } from './server/server.js';
export type { ServerStats } from './server/server.js';
export { defaultOptions, NATS_COMPAT_VERSION } from './config/options.js';
export type { Options } from './config/options.js';
export { leafnodeOptions } from './leafnode/options.js';
export type { LeafnodeInput, LeafRemoteInput } from './leafnode/options.js';
export type { Logger } from './logging/types.js';
export { TSNATS_VERSION } from './version.js';
