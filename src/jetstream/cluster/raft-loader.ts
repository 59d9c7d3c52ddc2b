// The Raft implementation as the meta layer uses it (jetstream/cluster/meta.ts
// loads this module at run time): nodes from raft.ts, one route transport per
// server shared by all of its groups, and the stream groups when built in.

import type { Server } from '../../server/server.js';
import type { RaftTransport } from './raft-types.js';
import { createRaftNode } from './raft.js';
import type { RaftFactory, StreamGroupFactory } from './meta.js';

type TransportModule = { createRouteTransport?: (s: Server) => RaftTransport };
type GroupModule = { streamGroupFactory?: StreamGroupFactory };

async function optional<T>(spec: string): Promise<T | null> {
  try {
    return (await import(spec)) as T;
  } catch {
    return null;
  }
}

const transportModule = await optional<TransportModule>('./raft-transport.js');
const groupModule = await optional<GroupModule>('./stream-group.js');
const transports = new WeakMap<Server, RaftTransport>();

export const raftFactory: RaftFactory | undefined =
  transportModule?.createRouteTransport === undefined
    ? undefined
    : {
        transport(server: Server): RaftTransport {
          let t = transports.get(server);
          if (t === undefined) {
            t = transportModule.createRouteTransport!(server);
            transports.set(server, t);
          }
          return t;
        },
        create: (opts) => createRaftNode(opts),
      };

export const streamGroupFactory: StreamGroupFactory | undefined = groupModule?.streamGroupFactory;
