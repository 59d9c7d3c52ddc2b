// Test certificates, generated with the openssl command line into a fresh
// temp directory at test time (never committed): a CA, a server certificate
// for localhost/127.0.0.1, client certificates with chosen subjects and
// subjectAltNames, and an unrelated self-signed one. EC P-256 keys keep
// generation fast.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestPKI {
  dir: string;
  caFile: string;
  server: CertFiles;
  /** a certificate signed by the CA */
  issue(name: string, opts: IssueOptions): CertFiles;
  /** a self-signed certificate the CA knows nothing about */
  selfSigned(name: string, subject: string): CertFiles;
  cleanup(): void;
}

export interface IssueOptions {
  /** openssl -subj form, e.g. "/C=US/O=Synadia/CN=alice" */
  subject: string;
  /** subjectAltName value, e.g. "email:a@b.c,DNS:x.example" */
  san?: string;
  /** treat "+" in the subject as multi-valued RDN separators */
  multiValue?: boolean;
  /** validity in days from now (default 2) */
  days?: number;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl not available: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function createPKI(): TestPKI {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-pki-'));
  openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/O=tsnats tests/CN=tsnats test CA'], dir);
  let serial = 1;
  const issue = (name: string, o: IssueOptions): CertFiles => {
    const key = join(dir, `${name}.key`);
    const cert = join(dir, `${name}.pem`);
    openssl(['req', ...EC, '-keyout', key, '-out', `${name}.csr`, '-subj', o.subject, ...(o.multiValue ? ['-multivalue-rdn'] : [])], dir);
    const ext = [`basicConstraints=CA:FALSE`];
    if (o.san) ext.push(`subjectAltName=${o.san}`);
    writeFileSync(join(dir, `${name}.ext`), ext.join('\n') + '\n');
    const days = o.days ?? 2;
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(serial++), '-out', cert, '-extfile', `${name}.ext`, '-days', String(days)], dir);
    return { cert, key };
  };
  const server = issue('server', { subject: '/CN=localhost', san: 'DNS:localhost,IP:127.0.0.1' });
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    server,
    issue,
    selfSigned(name: string, subject: string): CertFiles {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.pem`);
      openssl(['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '2', '-subj', subject], dir);
      return { cert, key };
    },
    cleanup(): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
