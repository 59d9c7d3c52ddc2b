// The system account's entry: registers its loader with the core
// (server/features.ts); its events and requests load only when a server
// has a system account.
import { registerSystem } from '../server/features.js';

registerSystem(async (srv) => (await import('./index.js')).createSystem(srv));
