// Requests to the server over the system account for the NATS-based account
// resolver (server/accounts.go DirAccResolver.Start): account JWT pushes
// ($SYS.REQ.CLAIMS.UPDATE, $SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE and the older
// $SYS.ACCOUNT.<acc>.CLAIMS.UPDATE) and lookups
// ($SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP). A message a client publishes in
// the system account on one of these subjects is handled here (called from
// the cross-account step of the publish path); answers are delivered to the
// reply subject's subscribers in the system account, as the reference's
// internal client does. Requests arriving over routes are not served.

import type { Client, PubArgSource } from '../client/client.js';
import { Kind } from '../client/connection.js';
import type { Subscription } from '../client/subscription.js';
import type { Account } from './account.js';
import type { Server } from '../server/server.js';
import { NATS_COMPAT_VERSION } from '../config/options.js';

export type SysRequestHandler = (c: Client, subject: string, reply: string, payload: Buffer) => boolean;

let seq = 0;

/** server/events.go ServerInfo as the internal client fills it. */
export function serverInfo(srv: Server): Record<string, unknown> {
  const si: Record<string, unknown> = { name: srv.serverName, host: srv.opts.host === '' ? '0.0.0.0' : srv.opts.host, id: srv.serverId };
  if (srv.clusterName !== '') si.cluster = srv.clusterName;
  si.ver = NATS_COMPAT_VERSION;
  si.seq = ++seq;
  si.jetstream = false;
  si.time = new Date().toISOString().replace(/\.?0+Z$/, 'Z');
  return si;
}

/** The pub arguments of an internal message on `subject` with `size` bytes. */
function internalArgs(subject: string, size: number): PubArgSource {
  const sizeText = String(size);
  const sl = Buffer.byteLength(subject, 'latin1');
  const paBuf = Buffer.from(`${subject}   ${sizeText}`, 'latin1');
  const hdb = sl + 2;
  // The reference's internal messages read "MSG <subject> <sid>  <size>": the size bytes start with a space.
  return {
    paBuf,
    paSubjStart: 0,
    paSubjEnd: sl,
    paReplyStart: 0,
    paReplyEnd: 0,
    paHdr: -1,
    paHdbStart: hdb,
    paHdbEnd: hdb,
    paSize: size,
    paSzbStart: hdb,
    paSzbEnd: hdb + 1 + sizeText.length,
  };
}

function deliver(src: PubArgSource, sub: Subscription, payload: Buffer): boolean {
  const target = sub.client as Client;
  if (sub.closed || target.closed || target.kind !== Kind.CLIENT) return false;
  sub.nm++;
  if (sub.max > 0 && sub.nm > sub.max) {
    target.unsubscribe(sub);
    return false;
  }
  target.writeMsg(src, sub, payload, 0);
  if (sub.max > 0 && sub.nm === sub.max) target.unsubscribe(sub);
  return true;
}

/** server/events.go sendInternalMsg: `payload` to the subscribers of `subject` in `acc`. */
export function sendInternal(acc: Account, subject: string, payload: Buffer): void {
  if (subject === '') return;
  const src = internalArgs(subject, payload.length);
  const r = acc.sublist.match(subject);
  for (const sub of r.psubs) deliver(src, sub, payload);
  for (const members of r.qsubs) {
    const l = members.length;
    const first = l > 1 ? Math.floor(Math.random() * l) : 0;
    for (let k = 0; k < l; k++) if (deliver(src, members[(first + k) % l]!, payload)) break;
  }
}

/**
 * server/accounts.go respondToUpdate: the log line (debug when it worked,
 * error when not) and the JSON answer to `reply`.
 */
export function respondToUpdate(srv: Server, acc: Account, reply: string, account: string, message: string, err: string | null): void {
  if (err === null) {
    if (srv.logger.debugEnabled) srv.logger.debug(account === '' ? message : `${message} - ${account}`);
  } else {
    srv.logger.error(account === '' ? `${message} - ${err}` : `${message} - ${account} - ${err}`);
  }
  if (reply === '') return;
  // a Go map: keys sorted ("data"/"error" before "server")
  const m: Record<string, unknown> = {};
  if (account !== '') m.account = account;
  const response: Record<string, unknown> = {};
  if (err === null) {
    m.code = 200;
    m.message = message;
    response.data = m;
  } else {
    m.code = 500;
    m.description = `${message} - ${err}`;
    response.error = m;
  }
  response.server = serverInfo(srv);
  sendInternal(acc, reply, Buffer.from(JSON.stringify(response)));
}
