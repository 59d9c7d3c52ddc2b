// The lines nats-server 2.9.10 logs when JetStream starts and stops
// (server/jetstream.go EnableJetStream, enableJetStream, shutdownJetStream),
// text for text. The runtime logs them at notice level in this order.

import type { JetStreamConfig } from '../config/jetstream-conf.js';

/** logged first, before the limits are computed */
export const JS_STARTING = 'Starting JetStream';
export const JS_SHUTDOWN_START = 'Initiating JetStream Shutdown...';
export const JS_SHUTDOWN_DONE = 'JetStream Shutdown';

const LOGO = [
  '    _ ___ _____ ___ _____ ___ ___   _   __  __',
  ' _ | | __|_   _/ __|_   _| _ \\ __| /_\\ |  \\/  |',
  '| || | _|  | | \\__ \\ | | |   / _| / _ \\| |\\/| |',
  ' \\__/|___| |_| |___/ |_| |_|_\\___/_/ \\_\\_|  |_|',
  '',
  '         https://docs.nats.io/jetstream',
  '',
];


/**
 * server/jetstream.go friendlyBytes: "<n> B" below 1 KiB, else two decimals
 * and the binary unit (KB, MB, GB, TB, PB, EB) the logarithm picks.
 */
export function friendlyBytes(bytes: number): string {
  const base = 1024;
  if (bytes < base) return `${bytes} B`; // Go's %v of a whole float64
  const exp = Math.trunc(Math.log(bytes) / Math.log(base));
  const pre = ['K', 'M', 'G', 'T', 'P', 'E'];
  return `${(bytes / base ** exp).toFixed(2)} ${pre[exp - 1]}B`;
}

/** server/filestore.go StoreCipher.String */
export function cipherName(c: 'chacha' | 'aes'): string {
  return c === 'aes' ? 'AES-GCM' : 'ChaCha20-Poly1305';
}

/**
 * The banner and configuration lines logged once the store directory is
 * ready (after JS_STARTING): logo, limits, store directory, domain when set,
 * encryption when a key is configured.
 */
export function jetStreamStartLines(cfg: JetStreamConfig, encryption?: { key: string; cipher: 'chacha' | 'aes' }): string[] {
  const out = [...LOGO, '---------------- JETSTREAM ----------------'];
  out.push(`  Max Memory:      ${friendlyBytes(cfg.maxMemory)}`);
  out.push(`  Max Storage:     ${friendlyBytes(cfg.maxStore)}`);
  out.push(`  Store Directory: "${cfg.storeDir}"`);
  if (cfg.domain !== '') out.push(`  Domain:          ${cfg.domain}`);
  if (encryption !== undefined && encryption.key !== '') out.push(`  Encryption:      ${cipherName(encryption.cipher)}`);
  out.push('-------------------------------------------');
  return out;
}

/** server/jetstream.go EnableJetStream's debug line for a dynamic configuration. */
export function jetStreamDynamicConfigLine(cfg: JetStreamConfig): string {
  return `JetStream creating dynamic configuration - ${friendlyBytes(cfg.maxMemory)} memory, ${friendlyBytes(cfg.maxStore)} disk`;
}
