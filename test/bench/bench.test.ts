/**
 * `npm run bench`: the CLI's JSON contract (shape, not speed: no timing thresholds here; the speed
 * targets are checked by the bench itself), and the analytic convolution counts it divides by.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFile } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { countConvFlops } from '../../src/bench/flops';
import { median } from '../../src/bench/stats';
import { passes } from '../../src/bench/targets';
import { getArchitecture } from '../../src/models';
import { sharedPath, tempDir, useTestBackend } from '../helpers/env';

const ENTRY = path.resolve(__dirname, '..', '..', 'src', 'bench', 'index.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runBench(args: string[], timeoutMs = 240_000): Promise<Run> {
  const env = { ...process.env, NO_COLOR: '1', SR_BACKEND: process.env.SR_TEST_BACKEND ?? 'wasm' };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', ENTRY, ...args],
      { env, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** stdout must hold exactly one JSON object (one line) and nothing else. */
function parseOnlyJson(stdout: string): Record<string, any> {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  const value = JSON.parse(lines[0]);
  expect(value).toEqual(expect.any(Object));
  expect(Array.isArray(value)).toBe(false);
  return value;
}

describe('npm run bench --json', () => {
  it('runs one benchmark once and reports it in the documented shape', async () => {
    const dir = tempDir('sr-bench-');
    const out = path.join(dir, 'sub', 'result.json');
    const run = await runBench(['--reps', '1', '--only', 'srcnn_train_step_ms', '--json', '--out', out]);
    expect(run.code).toBe(0);
    const report = parseOnlyJson(run.stdout);

    expect(report.format).toBe('sr-bench/1');
    expect(typeof report.backend).toBe('string');
    expect(Number.isInteger(report.threads) && report.threads >= 1).toBe(true);
    expect(report.tfjs).toBe(tf.version.tfjs);
    expect(report.node).toBe(process.versions.node);
    expect(Number.isNaN(Date.parse(report.date))).toBe(false);
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(typeof report.machine.cpuModel).toBe('string');

    const value = report.metrics.srcnn_train_step_ms;
    expect(typeof value).toBe('number');
    expect(Number.isFinite(value) && value > 0).toBe(true);
    expect(report.nativeConv).toMatchObject({ enabled: true });
    for (const other of [
      'srresnet_train_step_ms',
      'srgan_gan_step_s',
      'srresnet_x4_infer_128_ms',
      'srresnet_x4_infer_128_ms_onnx',
      'eval_set14_bicubic_s',
      'eval_set14_srgan_x4_s',
      'eval_set14_srgan_x4_s_onnx',
    ]) {
      expect(report.metrics[other]).toBeNull();
      expect(report.results[other]).toBeUndefined();
    }

    const result = report.results.srcnn_train_step_ms;
    expect(result).toMatchObject({ value, unit: 'ms', reps: 1 });
    expect(result.samples).toEqual([value]);
    expect(result.gflop).toBeCloseTo(5.798, 2);
    expect(result.gflops).toBeGreaterThan(0);
    expect(result.setup).toMatchObject({ model: 'srcnn', kernels: [9, 5, 5], widths: [64, 32], padding: 'same', batch: 16, patch: 33 });
    expect(Number.isFinite(result.extra.lastLoss)).toBe(true);

    expect(report.targets.srcnn_train_step_ms).toMatchObject({ reference: 29, max: 170, unit: 'ms' });
    expect(report.targets.srresnet_x4_infer_128_ms).toMatchObject({ reference: 490, max: 1715, unit: 'ms' });
    expect(report.targets.srresnet_x4_infer_128_ms_onnx).toMatchObject({ reference: 490, factor: 1.2, max: 588, unit: 'ms' });
    expect(report.pass.srcnn_train_step_ms).toBe(value <= 170);
    expect(report.pass.srresnet_x4_infer_128_ms).toBeNull();

    // The same report went to --out, and no temporary file is left beside it.
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(report);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['result.json']);
  });

  it('times the SRGAN adversarial step of checkpoints/training/configs/srgan-x4-cpu.yaml, or says the VGG19 weights it names are missing', async () => {
    const run = await runBench(['--reps', '1', '--only', 'srgan_gan_step_s', '--json', '--no-save']);
    expect(run.code).toBe(0);
    const result = parseOnlyJson(run.stdout).results.srgan_gan_step_s;
    expect(result.setup).toMatchObject({
      config: 'checkpoints/training/configs/srgan-x4-cpu.yaml',
      batch: 4,
      lrPatch: 24,
      content: 'vgg54',
    });
    if (sharedPath('weights', 'vgg19')) {
      expect(result).toMatchObject({ unit: 's', reps: 1 });
      expect(result.value).toBeGreaterThan(0);
    } else {
      expect(result.value).toBeNull();
      expect(result.skipped).toMatch(/^VGG19 weights unavailable \(config: \.\.\/shared\/weights\/vgg19\): .*sr data download vgg19/);
    }
  });

  it('records a missing Set14 folder as null with a reason', async () => {
    const dir = tempDir('sr-bench-');
    const run = await runBench(['--only', 'eval_set14_bicubic_s', '--set14', path.join(dir, 'no-such-folder'), '--json', '--no-save']);
    expect(run.code).toBe(0);
    const report = parseOnlyJson(run.stdout);
    expect(report.metrics.eval_set14_bicubic_s).toBeNull();
    expect(report.results.eval_set14_bicubic_s.value).toBeNull();
    expect(report.results.eval_set14_bicubic_s.skipped).toMatch(/Set14 folder not found/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('skips the SRGAN evaluations with a reason when the shipped weights or Set14 are absent', async () => {
    // Untrained weights would give meaningless scores, so these cases never fall back to them.
    const shipped = fs.existsSync(path.resolve(__dirname, '..', '..', 'checkpoints', 'srgan-x4', 'MANIFEST'));
    const dir = tempDir('sr-bench-');
    const run = await runBench([
      '--only',
      'eval_set14_srgan_x4_s,eval_set14_srgan_x4_s_onnx',
      '--set14',
      path.join(dir, 'none'),
      '--json',
      '--no-save',
    ]);
    expect(run.code).toBe(0);
    const report = parseOnlyJson(run.stdout);
    for (const name of ['eval_set14_srgan_x4_s', 'eval_set14_srgan_x4_s_onnx']) {
      expect(report.metrics[name]).toBeNull();
      expect(report.results[name].skipped).toMatch(shipped ? /Set14 folder not found/ : /no shipped SRGAN x4 weights/);
    }
  });

  it('rejects an unknown benchmark name before measuring anything', async () => {
    const run = await runBench(['--only', 'srcnn_train_step_ms,nope', '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/unknown benchmark 'nope'/);
  });
});

describe('bench helpers', () => {
  beforeAll(useTestBackend);

  it('counts SRCNN 9-5-5 convolutions from the layer shapes', () => {
    const spec = getArchitecture('srcnn');
    const model = spec.build(spec.options.parse({ padding: 'same' }), 3, 1);
    try {
      const count = countConvFlops(model, [16, 33, 33, 1]);
      const px = 16 * 33 * 33;
      const layers = [81 * 1 * 64, 25 * 64 * 32, 25 * 32 * 1].map((macs) => 2 * px * macs);
      expect(count.convolutions.map((c) => c.forwardFlop)).toEqual(layers);
      expect(count.convolutions.map((c) => c.readsInput)).toEqual([true, false, false]);
      expect(count.forward).toBe(layers[0] + layers[1] + layers[2]);
      // No gradient into the image: the first layer counts twice, the others three times.
      expect(count.trainStep).toBe(2 * layers[0] + 3 * (layers[1] + layers[2]));
    } finally {
      model.dispose();
    }
  });

  it("follows 'valid' padding and SRResNet's sub-pixel upsamplers", () => {
    const srcnn = getArchitecture('srcnn');
    const valid = srcnn.build(srcnn.options.parse({ padding: 'valid' }), 3, 1);
    const srresnet = getArchitecture('srresnet');
    const x4 = srresnet.build(srresnet.options.parse({ blocks: 2, width: 8 }), 4, 1);
    try {
      expect(countConvFlops(valid, [1, 33, 33, 1]).convolutions.map((c) => c.output)).toEqual([
        [1, 25, 25, 64],
        [1, 21, 21, 32],
        [1, 17, 17, 1],
      ]);
      const convs = countConvFlops(x4, [1, 10, 10, 3]).convolutions;
      const tail = convs[convs.length - 1];
      expect(tail).toMatchObject({ layer: 'tail_conv', kernel: [9, 9, 8, 3], output: [1, 40, 40, 3] });
      expect(convs.find((c) => c.layer === 'up1_conv')).toMatchObject({ output: [1, 20, 20, 32] });
      // head, 2 blocks x 2, body, 2 upsamplers, tail
      expect(convs).toHaveLength(1 + 4 + 1 + 2 + 1);
    } finally {
      valid.dispose();
      x4.dispose();
    }
  });

  it('takes medians and judges targets', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(
      passes({
        srcnn_train_step_ms: 170,
        srresnet_x4_infer_128_ms: 1716,
        srresnet_x4_infer_128_ms_onnx: 588,
        srcnn_train_step_ms_onnx: 43,
        srgan_gan_step_s_onnx: 0.84,
      }),
    ).toEqual({
      srcnn_train_step_ms: true,
      srresnet_x4_infer_128_ms: false,
      srresnet_x4_infer_128_ms_onnx: true,
      srcnn_train_step_ms_onnx: false,
      srresnet_train_step_ms_onnx: null,
      srgan_gan_step_s_onnx: true,
    });
    expect(passes({ srcnn_train_step_ms: null })).toEqual({
      srcnn_train_step_ms: null,
      srresnet_x4_infer_128_ms: null,
      srresnet_x4_infer_128_ms_onnx: null,
      srcnn_train_step_ms_onnx: null,
      srresnet_train_step_ms_onnx: null,
      srgan_gan_step_s_onnx: null,
    });
  });
});
