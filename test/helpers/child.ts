/**
 * Runs a TypeScript script of the test suite in a child Node process (ts-node, transpile only) and
 * parses the one JSON line it prints. Tests that run ONNX Runtime go through this: its native
 * binding hands back Float32Arrays of the main realm, which onnxruntime-common's instanceof checks
 * reject inside jest's sandbox.
 */
import * as path from 'path';
import { execFile } from 'child_process';

export interface ChildRun<T> {
  code: number;
  result?: T;
  stderr: string;
}

export function runTsScript<T>(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<ChildRun<T>> {
  const fullEnv = { ...process.env, NO_COLOR: '1', SR_BACKEND: process.env.SR_TEST_BACKEND ?? 'wasm', ...env };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.resolve(script), ...args],
      { env: fullEnv, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        const line = stdout.trim().split('\n').pop();
        let result: T | undefined;
        try {
          result = line ? (JSON.parse(line) as T) : undefined;
        } catch {
          result = undefined;
        }
        resolve({ code, result, stderr });
      },
    );
  });
}
