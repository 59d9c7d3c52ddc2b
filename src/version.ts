// tsnats' own version (package.json). The nats-server feature level it
// implements is NATS_COMPAT_VERSION in config/options.ts.
export const TSNATS_VERSION = '0.1.0';
