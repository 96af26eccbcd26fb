import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { rx } from '../../../packages/core/src/rx.js';

const CORE_DIR = fileURLToPath(new URL('../../../packages/core/', import.meta.url));

describe('src/rx.ts', () => {
  test("gives rxjs's own values: the same classes and functions as `rxjs`", async () => {
    const rxjs = await import('rxjs');
    const values = rx();
    expect(Object.keys(values).sort()).toEqual([
      'Observable',
      'Subject',
      'asyncScheduler',
      'defer',
      'takeUntil',
    ]);
    for (const [name, value] of Object.entries(values)) expect(value).toBe(rxjs[name as keyof typeof rxjs]);
    expect(rx()).toBe(values);
  });

  // Start-up (docs/performance.md): importing core loads neither rxjs nor node:tls; the first
  // Observable loads rxjs, and only an ldaps:// or StartTLS connection loads node:tls. Run in a
  // child process against the built package, as a user's process imports it.
  test('importing core loads no rxjs and no node:tls; the first Observable loads rxjs', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const cache = createRequire(import.meta.url).cache;
      const loaded = () => ({
        rxjs: Object.keys(cache).filter((k) => k.includes('/rxjs/')).length,
        tls: process.moduleLoadList.includes('NativeModule tls'),
      });
      const core = await import('@syncrepl-rx/core');
      const afterImport = loaded();
      const observable = core.syncrepl({ url: 'ldap://127.0.0.1:1', base: 'dc=example' });
      const afterSyncrepl = loaded();
      const { Observable } = await import('rxjs');
      console.log(JSON.stringify({ afterImport, afterSyncrepl, same: observable instanceof Observable }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: CORE_DIR,
    });
    const result = JSON.parse(stdout) as {
      afterImport: { rxjs: number; tls: boolean };
      afterSyncrepl: { rxjs: number; tls: boolean };
      same: boolean;
    };
    expect(result.afterImport).toEqual({ rxjs: 0, tls: false });
    expect(result.afterSyncrepl.rxjs).toBeGreaterThan(0);
    expect(result.afterSyncrepl.tls).toBe(false);
    expect(result.same).toBe(true);
  });
});
