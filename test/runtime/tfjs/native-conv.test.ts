/**
 * Convolutions on ONNX Runtime's native kernels (src/runtime/tfjs/kernels/native_conv.ts), through the wasm
 * kernels that use them: forward values, fused bias and activations, and gradients, against the cpu
 * backend within 1e-4 relative, with nothing leaked. onnxruntime-node is a dependency, so it must load
 * here. Runs in a child process (fixtures/native-conv-driver.ts; see test/helpers/child.ts for why).
 */
import * as path from 'path';
import { runTsScript } from '../../helpers/child';

const DRIVER = path.join(__dirname, 'fixtures', 'native-conv-driver.ts');

interface Report {
  stderr?: string;
  status: { enabled: boolean; threads?: number; reason?: string };
  differing: number;
  total: number;
  cases: Array<{ label: string; diffs: number[]; leaked: number; layout?: string; inputLayout?: string }>;
  faulted: { diffs: number[]; leaked: number };
  enabledAfterFault: boolean;
  offStatus: { enabled: boolean; reason?: string };
  offEnabled: boolean;
  off: { diffs: number[]; leaked: number };
  reEnabled: boolean;
}

let report: Report;

beforeAll(async () => {
  const run = await runTsScript<Report>(DRIVER, [], {}, 300_000);
  if (run.code !== 0 || !run.result) throw new Error(`native-conv driver failed (${run.code}): ${run.stderr}`);
  report = { ...run.result, stderr: run.stderr };
}, 300_000);

describe('native convolutions', () => {
  it("turn on where onnxruntime-node loads, and give ONNX Runtime's values rather than XNNPACK's", () => {
    expect(report.status).toEqual({ enabled: true, threads: 2 });
    // Another summation order: the same numbers to about 1e-6, but not bit for bit everywhere.
    expect(report.differing).toBeGreaterThan(0);
  });

  it('cover every geometry and fused activation the models use', () => {
    expect(report.cases.map((c) => c.label)).toEqual([
      '3x3 same',
      '3x3 stride 2 same, odd size',
      '5x5 valid',
      '4x4 stride 2 same (uneven padding)',
      '3x5 strides 2,3 explicit',
      '9x9 single channel',
      '1x1',
      '3x3 12->10',
      '3x3 12->10 stride 2',
      '5x3 12->2 explicit',
      '3x3 stride 2 valid, last row unread',
      '3x3 24->20 on 4x5 (ConvTranspose input gradient)',
      '3x3 stride 2 24->20 on 7x6, valid (ConvTranspose, output padding)',
      'dilation 2',
      'numeric padding, ceil rounding',
      'filter, then a reshape of it',
      'fused linear',
      'fused relu',
      'fused relu6',
      'fused elu',
      'fused sigmoid',
      'fused leakyrelu',
      'fused prelu',
    ]);
  });

  it('compute filter gradients in each of their three layouts', () => {
    const layouts = new Set(report.cases.map((c) => c.layout).filter((l) => l !== undefined));
    expect([...layouts].sort()).toEqual(['dy-columns', 'per-tap', 'x-columns']);
  });

  it('compute input gradients both as a ConvTranspose and as the polyphase convolution', () => {
    const layouts = new Set(report.cases.map((c) => c.inputLayout).filter((l) => l !== undefined));
    expect([...layouts].sort()).toEqual(['conv-transpose', 'polyphase']);
  });

  it('match the cpu backend within 1e-4 (values and every gradient) and leak nothing', () => {
    for (const c of report.cases) {
      expect({ label: c.label, leaked: c.leaked }).toEqual({ label: c.label, leaked: 0 });
      for (const d of c.diffs) expect({ label: c.label, ok: d <= 1e-4, d }).toMatchObject({ label: c.label, ok: true });
    }
    // Gradient cases give the output, dx and dw; fused ones also the bias (and PReLU slope) gradients.
    expect(report.cases.find((c) => c.label === '3x3 same')!.diffs).toHaveLength(3);
    expect(report.cases.find((c) => c.label === 'fused prelu')!.diffs).toHaveLength(5);
  });

  it('turn themselves off when ONNX Runtime fails mid-run, saying so in one line, and the result comes from tfjs', () => {
    expect(report.faulted.diffs[0]).toBeLessThanOrEqual(1e-4);
    expect(report.faulted.leaked).toBe(0);
    expect(report.enabledAfterFault).toBe(false);
    expect(report.stderr).toContain(
      'sr: native convolutions turned off after an ONNX Runtime error (injected failure (SR_NATIVE_CONV_FAULT=run)); continuing on the tfjs backend\n',
    );
  });

  it('stay off with SR_NATIVE_CONV=0, saying why, while convolutions still run; and turn on again', () => {
    expect(report.offStatus).toEqual({ enabled: false, reason: 'turned off (SR_NATIVE_CONV=0)' });
    expect(report.offEnabled).toBe(false);
    expect(report.off.leaked).toBe(0);
    expect(report.off.diffs[0]).toBeLessThanOrEqual(1e-4);
    expect(report.reEnabled).toBe(true);
  });
});
