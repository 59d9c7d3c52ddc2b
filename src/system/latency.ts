// Service latency tracking (placeholder, filled in below).
import type { SystemContext } from './context.js';

export class LatencyTracker {
  constructor(private readonly ctx: SystemContext) {}
  start(): void {}
  stop(): void {}
}
