// Subject mappings of an account (`mappings { src: dest }`, weighted
// destinations, cluster-scoped destinations), as server/accounts.go
// AddWeightedMappings builds them and selectMappedSubject applies them to
// every message a client publishes in the account.

import { isValidSubject, subjectHasWildcard, subjectIsSubsetMatch } from '../subjects/validate.js';
import type { MappingConfig } from '../config/options.js';
import { SubjectTransform, transformTokenize } from './transform.js';

interface Destination {
  tr: SubjectTransform;
  /** cumulative weight (0-100) after sorting, as the reference keeps it */
  weight: number;
}

export class SubjectMapping {
  constructor(
    readonly src: string,
    readonly wc: boolean,
    readonly dests: Destination[],
    /** cluster name → destinations that apply in that cluster */
    readonly cdests: Map<string, Destination[]> | null,
  ) {}
}

export class MappingError extends Error {
  readonly code = 'ERR_TSNATS_MAPPING';
}

/** server/accounts.go AddWeightedMappings for one source subject. Throws MappingError. */
export function buildMapping(cfg: MappingConfig): SubjectMapping {
  const src = cfg.subject;
  if (!isValidSubject(src)) throw new MappingError('invalid subject');
  const wc = subjectHasWildcard(src);
  const seen = new Set<string>();
  const main: Destination[] = [];
  const byCluster = new Map<string, Destination[]>();
  let total = 0;
  for (const d of cfg.destinations) {
    if (seen.has(d.subject)) throw new MappingError(`duplicate entry for ${JSON.stringify(d.subject)}`);
    seen.add(d.subject);
    if (d.weight > 100) throw new MappingError('individual weights need to be <= 100');
    total += d.weight;
    if (total > 100) throw new MappingError('total weight needs to be <= 100');
    let tr: SubjectTransform;
    try {
      tr = SubjectTransform.create(src, d.subject);
    } catch (e) {
      throw new MappingError((e as Error).message);
    }
    const dest = { tr, weight: d.weight };
    if (d.cluster === undefined || d.cluster === '') main.push(dest);
    else {
      const l = byCluster.get(d.cluster);
      if (l === undefined) byCluster.set(d.cluster, [dest]);
      else l.push(dest);
    }
  }
  const finish = (dests: Destination[]): Destination[] => {
    const sum = dests.reduce((n, d) => n + d.weight, 0);
    // Below 100 in total, the rest goes to the source subject itself, unless
    // it was listed explicitly (then the rest is lost on purpose).
    if (sum !== 100 && !seen.has(src)) {
      const tr = SubjectTransform.create(src, wc ? transformTokenize(src) : src);
      dests.push({ tr, weight: dests.length === 0 ? 100 : 100 - sum });
    }
    dests.sort((a, b) => a.weight - b.weight);
    let lw = 0;
    for (const d of dests) {
      d.weight += lw;
      lw = d.weight;
    }
    return dests;
  };
  const cdests = byCluster.size > 0 ? new Map([...byCluster].map(([k, v]) => [k, finish(v)])) : null;
  return new SubjectMapping(src, wc, finish(main), cdests);
}

/**
 * server/accounts.go selectMappedSubject: the subject a publish on `subject`
 * goes to, or null when no mapping applies. '' when the chosen share is the
 * deliberately lost remainder.
 */
export function selectMappedSubject(mappings: readonly SubjectMapping[], subject: string, clusterName: string): string | null {
  let m: SubjectMapping | null = null;
  for (const rm of mappings) {
    if (!rm.wc ? rm.src === subject : subjectIsSubsetMatch(subject, rm.src)) {
      m = rm;
      break;
    }
  }
  if (m === null) return null;
  let dests = m.dests;
  if (m.cdests !== null) dests = m.cdests.get(clusterName) ?? m.dests;
  let d: Destination | null = null;
  if (dests.length === 1 && dests[0]!.weight === 100) d = dests[0]!;
  else {
    const w = Math.floor(Math.random() * 100);
    for (const rd of dests) {
      if (w < rd.weight) {
        d = rd;
        break;
      }
    }
  }
  if (d === null) return '';
  return d.tr.transformSubject(subject);
}
