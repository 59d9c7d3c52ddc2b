// Requests to the server over the system account for the NATS-based account
// resolver (server/accounts.go DirAccResolver.Start): account JWT pushes
// ($SYS.REQ.CLAIMS.UPDATE, $SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE and the older
// $SYS.ACCOUNT.<acc>.CLAIMS.UPDATE) and lookups
// ($SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP). A message a client publishes in
// the system account on one of these subjects is handled here (called from
// the cross-account step of the publish path); answers are delivered to the
// reply subject's subscribers in the system account, as the reference's
// internal client does. Requests arriving over routes are not served.

import type { Client } from '../client/client.js';
import type { Account } from './account.js';
import type { Server } from '../server/server.js';

export type SysRequestHandler = (c: Client, subject: string, reply: string, payload: Buffer) => boolean;

/**
 * server/events.go sendInternalMsg: through the system account's internal
 * client (src/system), which every $SYS message of this server leaves by,
 * so the ServerInfo sequence is one and the answer reaches a requester on
 * any server. `body` gets the ServerInfo header it carries. Without the
 * system service (no system account events) nothing is sent.
 */
export function sendInternal(srv: Server, subject: string, body: (server: Record<string, unknown>) => Buffer): void {
  const sys = srv.system;
  if (subject === '' || sys === null) return;
  sys.sendInternal(subject, body(sys.serverInfo()));
}

/**
 * server/accounts.go respondToUpdate: the log line (debug when it worked,
 * error when not) and the JSON answer to `reply`.
 */
export function respondToUpdate(srv: Server, _acc: Account, reply: string, account: string, message: string, err: string | null): void {
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
  sendInternal(srv, reply, (server) => {
    response.server = server;
    return Buffer.from(JSON.stringify(response));
  });
}
