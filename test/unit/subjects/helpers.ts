// Shared helpers for the subject-index tests.

import type { SubLike, SublistResult } from '../../../src/subjects/sublist.js';

let nextId = 1;

export class TSub implements SubLike {
  readonly id: number;
  queueWeight: number | undefined;
  constructor(
    readonly subject: string,
    readonly queue: string | null = null,
    weight?: number,
  ) {
    this.id = nextId++;
    this.queueWeight = weight;
  }
}

export const sub = (subject: string): TSub => new TSub(subject);
export const qsub = (subject: string, queue: string, weight?: number): TSub =>
  new TSub(subject, queue, weight);

/** A comparable, order-free picture of a result: ids of plain subs, and per group the ids (with repeats). */
export interface Shape {
  psubs: number[];
  qsubs: Record<string, number[]>;
}

export function shape(r: SublistResult<TSub>): Shape {
  const qsubs: Record<string, number[]> = {};
  for (const group of r.qsubs) {
    if (group.length === 0) throw new Error('empty queue group in result');
    const name = group[0]!.queue!;
    if (name in qsubs) throw new Error(`queue group ${name} appears twice in result`);
    for (const s of group) {
      if (s.queue !== name) throw new Error(`member of ${s.queue} in group ${name}`);
    }
    qsubs[name] = group.map((s) => s.id).sort((a, b) => a - b);
  }
  for (const s of r.psubs) {
    if (s.queue !== null) throw new Error('queue sub among plain subs');
  }
  return { psubs: r.psubs.map((s) => s.id).sort((a, b) => a - b), qsubs };
}

/** Deep snapshot of the arrays of a result, to detect later mutation. */
export function snapshot(r: SublistResult<TSub>): { psubs: TSub[]; qsubs: TSub[][] } {
  return { psubs: [...r.psubs], qsubs: r.qsubs.map((g) => [...g]) };
}

/** Token-wise NATS matching: the model the index is checked against. */
export function patternMatches(pattern: string, subject: string): boolean {
  const st = subject.split('.');
  if (st.some((t) => t.length === 0)) return false;
  const pt = pattern.split('.');
  for (let i = 0; i < pt.length; i++) {
    if (pt[i] === '>') return st.length > i;
    if (i >= st.length) return false;
    if (pt[i] !== '*' && pt[i] !== st[i]) return false;
  }
  return st.length === pt.length;
}

/** What match() should return over `subs`, as a Shape. */
export function modelShape(subs: Iterable<TSub>, subject: string): Shape {
  const psubs: number[] = [];
  const qsubs: Record<string, number[]> = {};
  for (const s of subs) {
    if (!patternMatches(s.subject, subject)) continue;
    if (s.queue === null) {
      psubs.push(s.id);
    } else {
      const g = (qsubs[s.queue] ??= []);
      const w = s.queueWeight !== undefined && s.queueWeight > 1 ? s.queueWeight : 1;
      for (let k = 0; k < w; k++) g.push(s.id);
    }
  }
  psubs.sort((a, b) => a - b);
  for (const g of Object.values(qsubs)) g.sort((a, b) => a - b);
  return { psubs, qsubs };
}
