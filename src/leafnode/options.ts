// The leafnodes {} options of an embedding program (README "Embedding"):
// what it leaves out takes the defaults a config file's block has
// (config/features-conf.ts defaultLeafnode and parseLeafRemotes).

import type { LeafnodeOptions, LeafRemoteOptions } from '../config/options.js';
import { defaultLeafnode } from '../config/features-conf.js';

/** A remote: its URLs, the rest optional. */
export type LeafRemoteInput = Partial<LeafRemoteOptions> & { urls: string[] };
/** The leafnodes block, every field optional. */
export type LeafnodeInput = Partial<Omit<LeafnodeOptions, 'remotes'>> & { remotes?: LeafRemoteInput[] };

export function leafnodeOptions(o: LeafnodeInput): LeafnodeOptions {
  const remotes = (o.remotes ?? []).map(
    (r): LeafRemoteOptions => ({ account: '', credentials: '', hub: false, denyImports: [], denyExports: [], noRandomize: false, ...r }),
  );
  return { ...defaultLeafnode(), ...o, remotes };
}
