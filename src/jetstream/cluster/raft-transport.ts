// Raft messages between servers over the cluster routes: one internal
// client in the system account publishes to `$TSNRG.<to>.<group>` with the
// sender's name as the reply, and each group on a server subscribes to its
// own subject. The subscriptions are route interest like any other, so a
// message goes to the one server it is for.
//
// The prefix is ours, not the reference's `$NRG.`: a Go nats-server in the
// same cluster must not read our bytes as its Raft messages (the encodings
// differ), so clustered JetStream needs every JetStream node to be tsnats.
//
// Delivery is best effort: while a route is down (or before the peer's
// subscription has reached us) messages are simply dropped, and Raft's
// heartbeats re-send what was not acknowledged.

import { InternalClient, type Subscription } from '../../client/internal.js';
import type { Server } from '../../server/server.js';
import type { RaftTransport } from './raft-types.js';

export const RAFT_SUBJECT_PREFIX = '$TSNRG';

const SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * A name as one subject token: as it is when it is made of safe characters,
 * otherwise '~' and its base64url (server and stream names may hold dots,
 * spaces or wildcards).
 */
export function nameToken(name: string): string {
  return SAFE_TOKEN.test(name) ? name : '~' + Buffer.from(name).toString('base64url');
}

export function tokenName(token: string): string {
  return token.startsWith('~') ? Buffer.from(token.slice(1), 'base64url').toString() : token;
}

export interface RouteRaftTransport extends RaftTransport {
  /** stop every group's subscription */
  close(): void;
}

class RouteTransport implements RouteRaftTransport {
  readonly self: string;
  private readonly selfToken: string;
  private client: InternalClient | null = null;
  /** subject prefix per group we send to ("<prefix>.<to>." is added per send) */
  private readonly groupTokens = new Map<string, string>();

  constructor(private readonly server: Server) {
    this.self = server.serverName;
    this.selfToken = nameToken(this.self);
  }

  private ic(): InternalClient {
    if (this.client === null) {
      const sys = this.server.systemAccount;
      if (sys === null) throw new Error('clustered JetStream needs the system account');
      this.client = new InternalClient(this.server, sys, 'Raft');
      this.client.echo = false;
    }
    return this.client;
  }

  private groupToken(group: string): string {
    let t = this.groupTokens.get(group);
    if (t === undefined) {
      t = nameToken(group);
      this.groupTokens.set(group, t);
    }
    return t;
  }

  send(group: string, to: string, msg: Buffer): void {
    this.ic().publish(`${RAFT_SUBJECT_PREFIX}.${nameToken(to)}.${this.groupToken(group)}`, this.selfToken, null, msg);
  }

  listen(group: string, onMessage: (from: string, msg: Buffer) => void): () => void {
    const ic = this.ic();
    const subject = `${RAFT_SUBJECT_PREFIX}.${this.selfToken}.${this.groupToken(group)}`;
    // The message is a view into the publisher's buffer, valid during the call:
    // the Raft node reads it synchronously and copies what it keeps.
    const sub: Subscription | null = ic.subscribeInternal(subject, null, (_s, _subject, reply, _hdr, msg) => {
      if (reply === '') return;
      onMessage(tokenName(reply), msg);
    });
    if (sub === null) throw new Error(`raft: cannot subscribe to ${subject}`);
    return () => {
      if (this.client !== null && !this.client.closed) this.client.unsubscribe(sub);
    };
  }

  close(): void {
    this.client?.closeInternal();
    this.client = null;
  }
}

/** The transport of this server's Raft groups over its routes. */
export function createRouteTransport(server: Server): RouteRaftTransport {
  return new RouteTransport(server);
}
