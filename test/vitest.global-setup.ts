/**
 * Once per test run: a directory for the 389-ds template instances (test/fixtures/ds389.ts), so
 * that the test files (each in its own worker process) share one template per suffix, built by
 * the first that needs it, and the run removes it at its end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  if (process.env.SYNCREPL_RX_389DS_TEMPLATES) return () => undefined;
  const dir = mkdtempSync(join(tmpdir(), 'syncrepl-rx-389ds-templates-'));
  process.env.SYNCREPL_RX_389DS_TEMPLATES = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
