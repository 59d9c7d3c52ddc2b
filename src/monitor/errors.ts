// The monitoring listener's start-up error, in a module of its own so that the
// executable can recognise it without loading the monitoring code (which is
// loaded only when a monitoring port is configured).

/**
 * The monitor could not start. The message is the reference's fatal log text
 * ("Can't start monitoring: ..."); nats-server logs it at [FTL] and exits 1.
 */
export class MonitorStartError extends Error {
  constructor(reason: string) {
    super(`Can't start monitoring: ${reason}`);
    this.name = 'MonitorStartError';
  }
}
