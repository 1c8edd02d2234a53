/**
 * Runs the real `sr` executable in a child process: the compiled dist/ that `npm test` builds first
 * (set SR_TS=1 to run the TypeScript sources through ts-node instead).
 */
import * as path from 'path';
import { execFile } from 'child_process';

export const BIN = path.resolve(__dirname, '..', '..', 'bin', 'sr');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asynchronous, so a test server living in the test process keeps answering. */
export function runSr(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<Run> {
  const fullEnv = { ...process.env, NO_COLOR: '1', SR_BACKEND: process.env.SR_TEST_BACKEND ?? 'wasm', ...env };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: fullEnv, timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A failure is reported as exactly one line, `sr: ...`, with no stack trace. */
export function expectOneLineError(run: Run): void {
  expect(run.stderr.endsWith('\n')).toBe(true);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toMatch(/^\s+at /m);
}
