// $SYS.REQ.USER.INFO (nats-server 2.10 userInfoReq): a client asks who it
// is — its user, account, permissions and credential expiry. Every account
// imports the request (system/imports.ts); the subscription is local, so
// the server the client is connected to answers, from the requesting
// connection itself.

import { Client } from '../client/client.js';
import { getHeader, CLIENT_INFO_HDR } from '../accounts/imports.js';
import type { Sublist } from '../subjects/sublist.js';
import type { SystemContext } from './context.js';
import { apiResponse, encode } from './info.js';
import { USER_INFO_EXPORT } from './imports.js';

interface RuleLike {
  subject: string;
  queue: string | null;
}

function ruleStrings(sl: Sublist<RuleLike> | null, withQueue: boolean): string[] | undefined {
  if (sl === null) return undefined;
  const out: string[] = [];
  for (const r of sl.all()) out.push(withQueue && r.queue !== null ? `${r.subject} ${r.queue}` : r.subject);
  return out.length > 0 ? out : undefined;
}

/** server/client.go publicPermissions (2.10) */
function publicPermissions(c: Client): Record<string, unknown> | undefined {
  const p = c.perms;
  if (p === null) return undefined;
  const r = p.rules as unknown as {
    pubAllow: Sublist<RuleLike> | null;
    pubDeny: Sublist<RuleLike> | null;
    subAllow: Sublist<RuleLike> | null;
    subDeny: Sublist<RuleLike> | null;
    response: { maxMsgs: number; expiresMs: number } | null;
  };
  const sp = (allow: string[] | undefined, deny: string[] | undefined): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    if (allow !== undefined) o.allow = allow;
    if (deny !== undefined) o.deny = deny;
    return o;
  };
  const out: Record<string, unknown> = {
    publish: sp(ruleStrings(r.pubAllow, false), ruleStrings(r.pubDeny, false)),
    subscribe: sp(ruleStrings(r.subAllow, true), ruleStrings(r.subDeny, true)),
  };
  if (r.response !== null) out.responses = { max: r.response.maxMsgs, ttl: r.response.expiresMs * 1e6 };
  return out;
}

function rawUser(c: Client): string {
  const o = c.opts;
  if (o.nkey !== '') return o.nkey;
  if (o.user !== '') return o.user;
  if (o.jwt !== '') return c.user;
  return c.user;
}

export function startUserInfo(ctx: SystemContext): void {
  ctx.subscribe(
    USER_INFO_EXPORT,
    (_s, _subject, reply, hdr) => {
      if (reply === '') return;
      const srv = ctx.srv;
      const src = ctx.client.source;
      let account = '';
      if (hdr !== null) {
        const v = getHeader(hdr.toString('latin1'), CLIENT_INFO_HDR);
        if (v !== null) {
          try {
            const ci = JSON.parse(v) as Record<string, unknown>;
            if (typeof ci.acc === 'string') account = ci.acc;
          } catch {
            ctx.send(reply, '', encode(apiResponse(srv, undefined, { code: 400 })));
            return;
          }
        }
      }
      const c = src instanceof Client ? src : null;
      if (account === '') account = c !== null ? c.account.name : ctx.sysAcc.name;
      const data: Record<string, unknown> = { user: c !== null ? rawUser(c) : '', account };
      if (c !== null) {
        const perms = publicPermissions(c);
        if (perms !== undefined) data.permissions = perms;
      }
      ctx.send(reply, '', encode(apiResponse(srv, data, null)));
    },
    true,
  );
}
