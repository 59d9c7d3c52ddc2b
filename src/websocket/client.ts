// A client connected over websocket: the same Client (parser, CONNECT, subs,
// delivery) on a WsSocket, with what the reference does differently for
// websocket clients: log prefix "ip:port - wid:N" (X-Forwarded-For address
// first), the websocket block's authorization override and auth timeout.

import type { Socket } from 'node:net';
import { Client } from '../client/client.js';
import type { Account } from '../accounts/account.js';
import type { Authenticator } from '../auth/auth.js';
import type { Server } from '../server/server.js';
import { WsSocket } from './socket.js';

export class WsClient extends Client {
  readonly ws: WsSocket;
  /** the websocket block's authorization, when it overrides the server's (null: the server's) */
  private wsAuthenticator: () => Authenticator | null = () => null;
  private wsAuthTimeout = 0;

  constructor(server: Server, sock: WsSocket, cid: number, account: Account) {
    super(server, sock as unknown as Socket, cid, account);
    this.ws = sock;
    sock.owner = this;
  }

  /** The websocket block's authorization (user/password/token/no_auth_user) replaces the server's. */
  setAuthOverride(auth: () => Authenticator | null, timeoutMs: number): void {
    this.wsAuthenticator = auth;
    this.wsAuthTimeout = timeoutMs;
  }

  /** allowed_connection_types / JWT connection types: jwt.ConnectionTypeWebsocket */
  override get connectionType(): string {
    return 'WEBSOCKET';
  }

  override get authenticator(): Authenticator {
    return this.wsAuthenticator() ?? this.server.auth;
  }

  protected override authTimeoutMs(): number {
    return this.wsAuthTimeout > 0 ? this.wsAuthTimeout : this.server.authTimeoutMs();
  }

  /** server/client.go initClient: "ip:port - wid:N", or "xff/ip:port - wid:N" */
  protected override connLabel(): string {
    const base = `${this.host}:${this.port} - wid:${this.cid}`;
    // Called from the Connection constructor too, before `ws` is set.
    const ip = (this.socket as unknown as WsSocket).clientIP ?? '';
    if (ip === '') return base;
    return `${ip.includes(':') ? `[${ip}]` : ip}/${base}`;
  }
}

/** Whether a client came in over websocket (INFO connect_urls, auth). */
export function isWebsocketClient(c: unknown): c is WsClient {
  return c instanceof WsClient;
}
