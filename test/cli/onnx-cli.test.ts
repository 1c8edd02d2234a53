/** `sr export` and `sr upscale/eval/info --engine ...` end to end, on generated checkpoints and images. */
import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { readImage, writeImage } from '../../src/image/io';
import { readOnnxMetadata } from '../../src/engines/onnx/export';
import { saveTestCheckpoint } from '../helpers/checkpoints';
import { expectOneLineError, runSr } from '../helpers/cli';
import { tempDir, useTestBackend } from '../helpers/env';
import { patternImage } from '../helpers/images';

const dir = tempDir('sr-onnx-cli-');
const srcnn = path.join(dir, 'srcnn-x3');
const srresnet = path.join(dir, 'srresnet-x2');
const rgba = path.join(dir, 'rgba.png');
const rgb = path.join(dir, 'rgb.png');
const NO_ORT = { NODE_OPTIONS: `--require ${path.resolve(__dirname, '..', 'helpers', 'no-onnxruntime.js')}` };
// Keeps exports made by these runs out of the user's cache folder.
const CACHE = { SR_CACHE_DIR: path.join(dir, 'cache') };

beforeAll(async () => {
  await useTestBackend();
  (
    await saveTestCheckpoint(srcnn, {
      architecture: 'srcnn',
      options: { kernels: [9, 5, 5], widths: [8, 4], padding: 'valid' },
      scale: 3,
      seed: 5,
    })
  ).dispose();
  (await saveTestCheckpoint(srresnet, { architecture: 'srresnet', options: { blocks: 1, width: 8 }, scale: 2, seed: 6 })).dispose();
  await writeImage(rgba, patternImage(20, 16, 4));
  await writeImage(rgb, patternImage(18, 14, 3));
});

describe('sr export', () => {
  it('writes an ONNX model of a checkpoint with its scale and input space in the metadata', async () => {
    const out = path.join(dir, 'srresnet.onnx');
    const run = await runSr(['export', srresnet, '-o', out, '--json'], CACHE);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      output: out,
      checkpoint: srresnet,
      scale: 2,
      inputSpace: 'rgb',
      shrink: 0,
      bytes: fs.statSync(out).size,
    });
    expect(readOnnxMetadata(fs.readFileSync(out))).toMatchObject({
      'sr.scale': '2',
      'sr.architecture': 'srresnet',
      'sr.input_space': 'rgb',
    });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes PReLU as scaled ReLUs by default and as PRelu nodes with --prelu-node', async () => {
    const opsOf = (file: string) => new Set(onnx.ModelProto.decode(fs.readFileSync(file)).graph!.node!.map((n) => n.opType));
    const scaled = path.join(dir, 'scaled.onnx');
    const nodes = path.join(dir, 'nodes.onnx');
    expect((await runSr(['export', srresnet, '-o', scaled], CACHE)).code).toBe(0);
    expect((await runSr(['export', srresnet, '-o', nodes, '--prelu-node'], CACHE)).code).toBe(0);
    expect([opsOf(scaled).has('PRelu'), opsOf(scaled).has('BatchNormalization')]).toEqual([false, true]);
    expect([opsOf(nodes).has('PRelu'), opsOf(nodes).has('BatchNormalization')]).toEqual([true, false]);
  });

  it('rejects an unknown model and an interpolation kernel as usage errors', async () => {
    for (const model of ['no-such-model', 'bicubic']) {
      const run = await runSr(['export', model, '-o', path.join(dir, 'x.onnx')], CACHE);
      expect(run.code).toBe(2);
      expectOneLineError(run);
      expect(run.stderr).toMatch(
        model === 'bicubic' ? /^sr: 'bicubic' is an interpolation kernel, not a network/ : /^sr: unknown model 'no-such-model'/,
      );
    }
    expect(fs.existsSync(path.join(dir, 'x.onnx'))).toBe(false);
  });

  it('fails with one line and writes nothing when the output cannot be written', async () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, 'x');
    for (const out of [path.join(dir, 'missing', 'm.onnx'), path.join(blocker, 'm.onnx'), dir]) {
      const run = await runSr(['export', srcnn, '-o', out], CACHE);
      expect(run.code).toBe(2);
      expectOneLineError(run);
      expect(run.stderr).toMatch(/^sr: -o .*m\.onnx: folder .* does not exist$|^sr: -o .*: is a folder, expected a file name$/m);
    }
    expect(fs.existsSync(path.join(dir, 'missing'))).toBe(false);
  });
});

describe('sr upscale --engine', () => {
  it('gives the same image with onnx as with tfjs, within one gray level (Y model, alpha; RGB model)', async () => {
    for (const [model, input, channels] of [
      [srcnn, rgba, 4],
      [srresnet, rgb, 3],
    ] as const) {
      const outputs = [];
      for (const engine of ['tfjs', 'onnx']) {
        const out = path.join(dir, `${path.basename(model)}-${engine}.png`);
        const run = await runSr(['--threads', '1', 'upscale', input, '-o', out, '--model', model, '--engine', engine, '--json'], CACHE);
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout).engine).toBe(engine);
        outputs.push(await readImage(out));
      }
      const [a, b] = outputs;
      expect([b.width, b.height, b.channels]).toEqual([a.width, a.height, channels]);
      let max = 0;
      for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
      expect(max).toBeLessThanOrEqual(1);
    }
  });

  it('says which engine runs with --verbose, and where the export is cached', async () => {
    const run = await runSr(['--threads', '1', '--verbose', 'upscale', rgb, '-o', path.join(dir, 'v.png'), '--model', srcnn], CACHE);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^engine: onnx \(onnxruntime-node [\d.]+, CPU, 1 thread\)$/m);
    expect(run.stderr).toMatch(/^onnx export: (built now, )?cached in .*model\.onnx$/m);
  });

  it('falls back to tfjs with a note when onnxruntime-node does not load, and --engine onnx is a one-line error', async () => {
    const auto = await runSr(
      ['--threads', '1', 'upscale', rgb, '-o', path.join(dir, 'fallback.png'), '--model', srcnn, '--engine', 'auto', '--json'],
      { ...CACHE, ...NO_ORT },
    );
    expect(auto.code).toBe(0);
    expect(JSON.parse(auto.stdout).engine).toBe('tfjs');
    const plain = await runSr(['--threads', '1', 'upscale', rgb, '-o', path.join(dir, 'fallback2.png'), '--model', srcnn], {
      ...CACHE,
      ...NO_ORT,
    });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/^note: ONNX Runtime is not available: onnxruntime-node failed to load: .*; running on tfjs instead$/m);
    const onnx = await runSr(['--threads', '1', 'upscale', rgb, '-o', path.join(dir, 'never.png'), '--model', srcnn, '--engine', 'onnx'], {
      ...CACHE,
      ...NO_ORT,
    });
    expect(onnx.code).toBe(1);
    expectOneLineError(onnx);
    expect(onnx.stderr).toMatch(/^sr: ONNX Runtime is not available: onnxruntime-node failed to load: /);
    expect(fs.existsSync(path.join(dir, 'never.png'))).toBe(false);
  });

  it('sr info says what --engine auto runs networks on', async () => {
    const [ok, broken] = await Promise.all([runSr(['info', '--json']), runSr(['info', '--json'], NO_ORT)]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ engineAuto: 'onnx', onnxruntime: { available: true } });
    expect(JSON.parse(broken.stdout)).toMatchObject({
      engineAuto: 'tfjs',
      onnxruntime: { available: false, reason: expect.stringMatching(/failed to load/) },
    });
  });
});
