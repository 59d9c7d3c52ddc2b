// A node:test reporter that prints nothing until the run ends, then one line
// per failed test (file, name, first line of the error). CI keeps only the
// tail of a long log, so the names of failures must come last.
export default async function* failSummary(source) {
  const failed = [];
  for await (const ev of source) {
    if (ev.type !== 'test:fail') continue;
    const err = ev.data.details?.error;
    // A suite "fails" when one of its tests does; the test itself is listed.
    if (err?.failureType === 'subtestsFailed') continue;
    const cause = err?.cause ?? err;
    const msg = String(cause?.message ?? cause ?? '').split('\n')[0].slice(0, 300);
    failed.push(`  ${ev.data.file ?? '?'}: ${ev.data.name}: ${msg}`);
  }
  yield failed.length === 0 ? '\nno test failed\n' : `\n${failed.length} failed:\n${failed.join('\n')}\n`;
}
