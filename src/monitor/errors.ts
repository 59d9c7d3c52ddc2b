// The monitoring listener's start-up error, in a module of its own so that the
// executable can recognise it without loading the monitoring code (which is
// loaded only when a monitoring port is configured).

export class MonitorStartError extends Error {
  constructor(reason: string) {
    super(`Can't start monitoring: ${reason}`);
    this.name = 'MonitorStartError';
  }
}
