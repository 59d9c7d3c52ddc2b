// Websocket clients (nats-server's websocket {} block): see listener.ts.
export { WebsocketServer, WebsocketStartError } from './listener.js';
export { WsClient, isWebsocketClient } from './client.js';
export { WsSocket } from './socket.js';
