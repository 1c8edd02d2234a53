/** Test plumbing: one backend per jest worker, the optional ../shared data, temp folders. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/runtime/tfjs';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const SHARED_DIR = path.resolve(PROJECT_ROOT, '..', 'shared');

export function sharedPath(...parts: string[]): string | undefined {
  const p = path.join(SHARED_DIR, ...parts);
  return fs.existsSync(p) ? p : undefined;
}

/** `describe` that skips, saying why, when ../shared (or a part of it) is absent. */
export function describeWithShared(name: string, parts: string[], body: (dir: string) => void): void {
  const dir = sharedPath(...parts);
  if (!dir) {
    describe.skip(`${name} (skipped: ../shared/${parts.join('/')} is absent)`, () => {
      it('needs ../shared', () => undefined);
    });
    return;
  }
  describe(name, () => body(dir));
}

export async function useTestBackend(): Promise<void> {
  await initBackend({ backend: process.env.SR_TEST_BACKEND ?? 'wasm' });
}

export function tempDir(prefix = 'sr-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
