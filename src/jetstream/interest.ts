// Who is listening on a subject JetStream publishes to in an account, when the
// listener may sit in another account.
//
// The reference answers both questions below with one sublist match: stream
// imports put "shadow" subscriptions into the exporter's sublist, and a
// request that came through a service import carries a `_R_` reply that it
// follows back to the requester (server/consumer.go
// trackDownAccountAndInterest). tsnats keeps importers and response mappings
// beside the sublist (accounts/imports.ts), so the walk is done here.

import type { Account } from '../accounts/account.js';
import { matchLiteral } from '../subjects/validate.js';

/** Import chains deeper than this are not followed (as accounts/imports.ts MAX_IMPORT_CHAIN). */
const MAX_DEPTH = 8;

/**
 * Does a message published on `subject` in `acc` reach a subscriber: one of
 * the account's own, or one of an account that imports the subject as a
 * stream (a push consumer's deliver subject exported to another account).
 */
export function accountHasInterest(acc: Account, subject: string, depth = 0): boolean {
  if (acc.sublist.hasInterest(subject)) return true;
  const importers = acc.streamImporters;
  if (importers === null || depth >= MAX_DEPTH) return false;
  for (let i = 0; i < importers.length; i++) {
    const im = importers[i]!;
    if (im.invalid || !matchLiteral(subject, im.from)) continue;
    const dsubj = im.tr !== null ? im.tr.transformSubject(subject) : im.usePub ? subject : im.to;
    if (accountHasInterest(im.importer, dsubj, depth + 1)) return true;
  }
  return false;
}

/**
 * Changes whenever a subscription changes in `acc` or an account importing
 * streams from it (sublist generation ids only grow), so a cached
 * accountHasInterest answer is stale exactly when this moved.
 */
export function interestGen(acc: Account, depth = 0): number {
  let gen = acc.sublist.genid;
  const importers = acc.streamImporters;
  if (importers === null || depth >= MAX_DEPTH) return gen;
  for (let i = 0; i < importers.length; i++) gen += interestGen(importers[i]!.importer, depth + 1);
  return gen;
}

/** The account and subject whose interest decides whether a reply is still wanted. */
export interface ReplyInterest {
  acc: Account;
  interest: string;
}

/**
 * Follows a `_R_` reply (a request that came through a service import)
 * back to the requester's account and reply subject
 * (server/consumer.go trackDownAccountAndInterest).
 */
export function trackDownInterest(acc: Account, reply: string): ReplyInterest {
  let interest = reply;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const prefix = acc.respPrefix;
    if (prefix === null || !interest.startsWith(prefix)) break;
    const rsi = acc.responses?.get(interest);
    if (rsi === undefined) break;
    acc = rsi.acc;
    interest = rsi.to;
  }
  return { acc, interest };
}
