// JetStream's entry: registers the loader with the core (server/features.ts)
// so that a server started with JetStream enabled creates it. Importing this
// module costs nothing: the JetStream code itself loads on first use.
import { registerJetStream } from '../server/features.js';

registerJetStream(async (server) => {
  const { JetStream } = await import('./service.js');
  return new JetStream(server);
});
