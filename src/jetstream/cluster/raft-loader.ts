// The Raft implementation as the meta layer uses it (jetstream/cluster/meta.ts):
// nodes from raft.ts, one route transport per server shared by all of its
// groups, and the stream groups of replicated streams.

import type { Server } from '../../server/server.js';
import type { RaftTransport } from './raft-types.js';
import { createRaftNode } from './raft.js';
import { createRouteTransport } from './raft-transport.js';
import type { RaftFactory } from './meta.js';

const transports = new WeakMap<Server, RaftTransport>();

export const raftFactory: RaftFactory = {
  transport(server: Server): RaftTransport {
    let t = transports.get(server);
    if (t === undefined) {
      t = createRouteTransport(server);
      transports.set(server, t);
    }
    return t;
  },
  create: (opts) => createRaftNode(opts),
};

export { streamGroupFactory } from './stream-group.js';
