// $JS.API.ACCOUNT.PURGE.<account> (server/jetstream_api.go
// jsLeaderAccountPurgeRequest): an operator in the system account deletes
// every stream (with its consumers) of an account and, on a lone server, the
// account's store folder. The answer is `initiated: true` even for an account
// that has nothing, as the reference's.
//
// Where tsnats differs on purpose: the reference's handler is a system
// subscription that also receives the requests other accounts send through
// their JetStream API import, so in 2.9.10 any user of any account can purge
// every other account's streams. Here a user account reaches only its own
// name (the reference's answer), and a request naming another account gets no
// answer (a warning in the log), as a subject with no handler.

import fs from 'node:fs';
import path from 'node:path';
import type { JetStream } from './service.js';
import type { ApiRequest, JsApi } from './api.js';
import { API_TYPES as T } from './api.js';
import { apiError, type ApiError } from './errors.js';
import { InternalClient } from '../client/internal.js';
import type { Subscription } from '../client/subscription.js';
import * as J from './json.js';

const PREFIX = '$JS.API.ACCOUNT.PURGE.';

/** The system account's subscription; null without a system account. */
export function serveAccountPurge(js: JetStream): InternalClient | null {
  const sys = js.server.systemAccount;
  if (sys === null) return null;
  const ic = new InternalClient(js.server, sys, 'JetStream account purge');
  ic.subscribeInternal(PREFIX + '*', null, (_s: Subscription, subject: string, reply: string) => {
    const name = subject.slice(PREFIX.length);
    purgeAccount(js, name, (err) => {
      if (reply === '') return;
      const o = err === null ? { type: T.accountPurge, initiated: true } : { type: T.accountPurge, error: err.toJSON() };
      ic.publish(reply, '', null, Buffer.from(J.toGoJSON(o)));
    });
  });
  return ic;
}

/** The same request sent by a user account through its own JetStream API (api.ts dispatch). */
export function accountPurgeFromAccount(api: JsApi, req: ApiRequest): void {
  const name = req.tokens[2];
  if (name !== req.jsa.name) {
    api.js.server.logger.warn(`JetStream account purge of "${name}" requested from account "${req.jsa.name}" ignored: only the system account may purge another account`);
    return;
  }
  purgeAccount(api.js, name, (err) => api.respond(req, T.accountPurge, err, err === null ? { initiated: true } : {}));
}

type Answer = (err: ApiError | null) => void;

function purgeAccount(js: JetStream, name: string, answer: Answer): void {
  const log = js.server.logger;
  const cluster = js.cluster;
  if (cluster !== null) {
    // only the meta leader acts and answers (jetstream_cluster.go: the purge
    // subscription is the meta leader's)
    if (!cluster.isMetaLeader()) return;
    const streams = cluster.state.accountStreams(name);
    let consumers = 0;
    for (const sa of streams) consumers += cluster.localStream(name, sa.name)?.stream.consumers.size ?? 0;
    log.notice(`Purge request for account ${name} (streams: ${streams.length}, consumer: ${consumers}, hasAccount: ${js.server.accounts.has(name)})`);
    for (const sa of streams) cluster.propose({ op: 'remove', account: name, name: sa.name }).catch(() => undefined);
    answer(null);
    return;
  }
  const jsa = js.accounts.get(name);
  const streams = jsa === undefined ? [] : [...jsa.streams.values()];
  log.notice(`Purge request for account ${name} (streams: ${streams.length}, hasAccount: ${js.server.accounts.has(name)})`);
  void (async () => {
    for (const s of streams) {
      try {
        await js.deleteStream(jsa!, s);
      } catch (e) {
        answer(apiError('JSStreamDeleteErrF', { err: (e as Error).message }));
        return;
      }
    }
    const root = path.resolve(js.storeDir);
    const dir = path.join(root, name);
    // a name is one subject token: no dots, but it may hold a slash; and the
    // system account's folder holds the cluster's own state
    const sys = js.server.systemAccount;
    if (path.dirname(dir) === root && (sys === null || sys.name !== name)) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch (e) {
        answer(apiError('JSStreamGeneralErrorF', { err: (e as Error).message }));
        return;
      }
    }
    answer(null);
  })();
}
