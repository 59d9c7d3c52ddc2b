// The services the system account exports to every account, and the
// imports each account gets of them (server/events.go
// addSystemAccountExports, registerSystemImports; $SYS.REQ.USER.INFO as
// nats-server 2.10 adds it): a user of any account can ask for its own
// account's CONNZ and STATZ and for its own user info, and nothing else of
// the system account.

import { ServiceExport, ServiceImport, ServiceImportEntry, type Account } from '../accounts/account.js';
import { findServiceExport } from '../accounts/imports.js';
import { Sublist } from '../subjects/sublist.js';
import type { Server } from '../server/server.js';

const ACC_CONNZ = '$SYS.REQ.ACCOUNT.*.CONNZ';
const ACC_STATZ = '$SYS.REQ.ACCOUNT.*.STATZ';
/** nats-server 2.10 userDirectReqSubj / userDirectInfoSubj */
export const USER_INFO_EXPORT = '$SYS.REQ.USER.*.INFO';
export const USER_INFO = '$SYS.REQ.USER.INFO';

/** Exports the system account needs, unless configured already (hasServiceExportMatching). */
function addSystemExports(sys: Account): void {
  const exports = (sys.serviceExports ??= new Map());
  const add = (subject: string, stream: boolean, accountPos: number): void => {
    if (findServiceExport(sys, subject) !== null) return;
    const se = new ServiceExport(sys, subject);
    // the importing account's name must be the subject's 4th token
    se.auth = accountPos > 0 ? { approved: null, tokenReq: false, accountPos } : null;
    if (stream) se.responseType = 'stream';
    exports.set(subject, se);
  };
  add(ACC_CONNZ, true, 4);
  add(ACC_STATZ, true, 4);
  add(USER_INFO_EXPORT, false, 0);
}

function addImport(acc: Account, sys: Account, from: string, to: string): boolean {
  const imports = (acc.serviceImports ??= new Map());
  if (imports.has(from)) return false;
  const se = findServiceExport(sys, to);
  const si = new ServiceImport(sys, from, to, null, false, se?.responseType ?? 'singleton', se, false, false);
  imports.set(from, si);
  (acc.serviceImportIndex ??= new Sublist<ServiceImportEntry>({ cacheSize: 256 })).insert(new ServiceImportEntry(from, si));
  return true;
}

/** server/events.go registerSystemImports (+ 2.10's user info) for one account. */
function registerSystemImports(acc: Account, sys: Account): void {
  const connz = `$SYS.REQ.ACCOUNT.${acc.name}.CONNZ`;
  let added = addImport(acc, sys, '$SYS.REQ.ACCOUNT.PING.CONNZ', connz);
  added = addImport(acc, sys, '$SYS.REQ.SERVER.PING.CONNZ', connz) || added;
  added = addImport(acc, sys, '$SYS.REQ.ACCOUNT.PING.STATZ', `$SYS.REQ.ACCOUNT.${acc.name}.STATZ`) || added;
  added = addImport(acc, sys, USER_INFO, `$SYS.REQ.USER.${acc.name}.INFO`) || added;
  if (added) acc.refreshCrossAccount();
}

/** Set up the system exports and every account's imports of them (after each (re)configuration). */
export function setupSystemImports(srv: Server): void {
  const sys = srv.systemAccount;
  if (sys === null) return;
  addSystemExports(sys);
  for (const acc of srv.accounts.values()) {
    if (acc === sys) {
      // 2.10: the system account's users reach their own info through an import of its own
      if (addImport(sys, sys, USER_INFO, `$SYS.REQ.USER.${sys.name}.INFO`)) sys.refreshCrossAccount();
      continue;
    }
    registerSystemImports(acc, sys);
  }
}
