// Account imports across routes, the way nats-server 2.9.10 lets them cross
// (server/client.go addShadowSubscriptions/addShadowSub, processMsgResults,
// processServiceImport; server/accounts.go newServiceReply).
//
// * Stream imports: the reference puts a "shadow" copy of every importer's
//   subscription into the exporting account, so a subscription in B on a
//   subject B imports from A is announced to routes as `RS+ A <subject in
//   A>` too. A message published in A on another server then reaches this
//   one as `RMSG A ...` and is handed to B's subscribers here. tsnats keeps
//   no shadow subscriptions (local delivery goes through the exporter's list
//   of importers), so this module computes the same shadow subjects for the
//   interest it announces, and delivers routed messages to local importers.
// * Service imports: the requester's server crosses the import itself and
//   sends the request into the exporting account, routes included, with a
//   reply `_R_.<prefix>.<token>` of that account; it announces interest in
//   `_R_.<prefix>.>` in the exporting account so that the response published
//   on the responder's server comes back as `RMSG A _R_...`, where it crosses
//   back into the requester's account. A routed *request* is never taken
//   through a service import on the receiving server (processServiceImport
//   returns for a ROUTER source unless it is a response).

import type { Account, StreamImport } from '../accounts/account.js';
import { subjectIsSubsetMatch } from '../subjects/validate.js';
import { setPubArgs, type PubArgSource } from '../client/client.js';

const EMPTY = Buffer.alloc(0);

/** One shadow interest: the exporting account and the subject there. */
export interface Shadow {
  acc: Account;
  subject: string;
}

function isSubsetMatchTokenized(tokens: string[], test: string[]): boolean {
  return subjectIsSubsetMatch(tokens.join('.'), test.join('.'));
}

/**
 * The subjects, in the exporting accounts, of the shadow subscriptions the
 * reference adds for a subscription on `subject` in `acc`
 * (server/client.go addShadowSubscriptions + addShadowSub, same four cases:
 * exact, subscription narrower than the import, wider, or overlapping).
 */
export function shadowSubjects(acc: Account, subject: string): Shadow[] {
  const imports = acc.streamImports;
  if (imports.length === 0) return [];
  const out: Shadow[] = [];
  let tokens = subject.split('.');
  const hasWC = tokens.includes('*') || tokens[tokens.length - 1] === '>';
  let modified = false;
  for (const im of imports) {
    if (im.invalid) continue;
    if (subject === im.to) {
      add(out, im, subject, '', false);
      continue;
    }
    if (modified) {
      tokens = subject.split('.');
      modified = false;
    }
    const imTokens = im.to.split('.');
    if (isSubsetMatchTokenized(tokens, imTokens)) {
      add(out, im, subject, '', true);
    } else if (hasWC) {
      if (isSubsetMatchTokenized(imTokens, tokens)) {
        add(out, im, subject, '', false);
      } else {
        const n = imTokens.length;
        for (let i = 0; i < tokens.length && i < n; i++) {
          if (tokens[i] === '*' && imTokens[i] !== '>') {
            tokens[i] = imTokens[i]!;
            modified = true;
          }
        }
        const last = tokens.length - 1;
        if (tokens[last] === '>' && n >= tokens.length) {
          tokens[last] = imTokens[last]!;
          modified = true;
          if (n > tokens.length) tokens = tokens.concat(imTokens.slice(tokens.length));
        }
        if (modified && isSubsetMatchTokenized(tokens, imTokens)) add(out, im, subject, tokens.join('.'), true);
      }
    }
  }
  return out;
}

function add(out: Shadow[], im: StreamImport, subject: string, overlap: string, dyn: boolean): void {
  let s: string;
  if (!im.usePub && dyn && im.tr !== null) {
    const rtr = im.tr.reverse();
    const src = overlap !== '' ? overlap : subject;
    if (rtr === null) return;
    try {
      s = rtr.transformSubject(src);
    } catch {
      return; // the reference skips an import whose reverse transform fails
    }
  } else if (!im.usePub || overlap !== '' || !dyn) {
    s = overlap !== '' ? overlap : im.from;
  } else {
    s = subject;
  }
  out.push({ acc: im.exporter, subject: s });
}

/**
 * A routed message re-addressed to another subject and reply (a stream
 * import's local subject, a requester's reply): the argument bytes a
 * subscriber's MSG line is built from, header and size as the original.
 */
export class ReAddressed implements PubArgSource {
  paBuf = EMPTY;
  paSubjStart = 0;
  paSubjEnd = 0;
  paReplyStart = 0;
  paReplyEnd = 0;
  readonly paHdr: number;
  paHdbStart = 0;
  paHdbEnd = 0;
  readonly paSize: number;
  paSzbStart = 0;
  paSzbEnd = 0;

  constructor(subject: string, reply: string, src: PubArgSource) {
    const hdb = src.paHdr > 0 ? src.paBuf.toString('latin1', src.paHdbStart, src.paHdbEnd) : '';
    const szb = src.paBuf.toString('latin1', src.paSzbStart, src.paSzbEnd);
    setPubArgs(this, subject, reply, hdb, szb);
    this.paHdr = src.paHdr;
    this.paSize = src.paSize;
  }
}
