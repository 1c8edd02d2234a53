/**
 * The ONNX engine: export equivalence (exported graph vs the tfjs layers model, within 1e-4, two
 * input sizes through one session), engine choice and fallback, and the export cache. ONNX Runtime
 * runs in a child process (test/onnx/driver.ts; see test/helpers/child.ts for why).
 */
import * as path from 'path';
import { runTsScript } from '../../helpers/child';
import { tempDir } from '../../helpers/env';

const DRIVER = path.join(__dirname, 'driver.ts');
const NO_ORT = path.resolve(__dirname, '..', '..', 'helpers', 'no-onnxruntime.js');

type Json = Record<string, any>;

async function drive(task: string, env: Record<string, string> = {}): Promise<Json> {
  const run = await runTsScript<Json>(DRIVER, [task, tempDir(`sr-onnx-${task}-`)], env);
  if (run.code !== 0 || !run.result) throw new Error(`driver ${task} failed (${run.code}): ${run.stderr}`);
  return run.result;
}

describe('export', () => {
  let cases: Json[];
  let byForm: (prelu: string) => Json[];
  beforeAll(async () => {
    cases = (await drive('export')) as unknown as Json[];
    byForm = (prelu) => cases.filter((c) => c.prelu === prelu);
  });

  it('covers SRCNN (valid and same padding) and SRResNet (x4, x3, with a global skip, with nearest upsampling), PReLU in both forms', () => {
    const labels = [
      'SRCNN 9-5-5, valid padding, x3',
      'SRCNN 9-1-5, same padding, x2',
      'SRResNet x4, batch norms and PReLU',
      'SRResNet x3',
      'SRResNet x4, bilinear global skip, 3x3 tail',
      'SRResNet x4, nearest + conv upsampling',
    ];
    expect(byForm('scaled-relu').map((c) => c.label)).toEqual(labels);
    expect(byForm('node').map((c) => c.label)).toEqual(labels);
  });

  it('gives the layers model output within 1e-4 at two input sizes through one session', () => {
    for (const c of cases) {
      const scale = c.architecture === 'srcnn' ? 1 : c.scale;
      c.runs.forEach((r: Json, i: number) => {
        const [h, w] = [
          [21, 19],
          [26, 33],
        ][i];
        expect(r.actualShape).toEqual(r.expectedShape);
        expect(r.actualShape).toEqual([1, (h - 2 * c.shrink) * scale, (w - 2 * c.shrink) * scale, c.channels]);
        expect(r.spread).toBeGreaterThan(1e-4); // the outputs vary, so the comparison means something
        expect(r.maxDiff).toBeLessThan(1e-4);
      });
    }
  });

  it('folds batch norms away, uses only the documented operators, and leaves height and width dynamic', () => {
    const documented = ['Conv', 'Relu', 'Tanh', 'Add', 'Mul', 'DepthToSpace', 'Resize', 'Identity'];
    for (const c of cases) {
      // The network's batch norms are folded into its convolutions; BatchNormalization nodes appear
      // only as the pure per-channel scalings of the default PReLU form.
      for (const op of c.ops) expect([...documented, c.prelu === 'node' ? 'PRelu' : 'BatchNormalization']).toContain(op);
      expect(c.batchNormsOnlyScale).toBe(true);
      expect(c.inputDims).toEqual(['batch', c.channels, 'height', 'width']);
      expect(c.metadata).toMatchObject({
        'sr.scale': String(c.scale),
        'sr.architecture': c.architecture,
        'sr.shrink': String(c.shrink),
        'sr.layout': 'NCHW',
      });
    }
    const [srresnet, , skip] = byForm('scaled-relu').slice(2);
    expect(srresnet.ops).toEqual(expect.arrayContaining(['BatchNormalization', 'Relu', 'DepthToSpace', 'Tanh', 'Add', 'Mul']));
    expect(byForm('node')[2].ops).toEqual(expect.arrayContaining(['PRelu', 'DepthToSpace', 'Tanh', 'Add', 'Mul']));
    expect(byForm('node')[2].ops).not.toContain('BatchNormalization');
    expect(skip.ops).toEqual(expect.arrayContaining(['Resize', 'Add']));
    expect(skip.ops).not.toContain('Tanh');
  });
});

describe('engines', () => {
  let r: Json;
  beforeAll(async () => {
    r = await drive('engine');
  });

  it('runs networks where asked: tfjs, onnx, and onnx for auto when ONNX Runtime loads', () => {
    expect(r.status).toMatchObject({ available: true, version: expect.any(String) });
    const [tfjs, onnx, auto, wrapped] = r.selection.engines;
    expect(tfjs).toMatchObject({ requested: 'tfjs', active: 'tfjs', notes: [] });
    expect(onnx).toMatchObject({
      requested: 'onnx',
      active: 'onnx',
      description: expect.stringMatching(/^onnx \(onnxruntime-node [\d.]+, CPU, 1 thread\)$/),
    });
    expect(auto).toMatchObject({ requested: 'auto', active: 'onnx' });
    // Tiling and self-ensemble keep saying which engine runs underneath.
    expect(wrapped.active).toBe('onnx');
    expect(r.bicubic).toMatchObject({ active: 'tfjs', notes: ['bicubic has no network to export; it runs on tfjs'] });
  });

  it('gives the tfjs result through the whole colour pipeline: RGB via Y, gray, tiled + ensemble', () => {
    const s = r.selection;
    expect(s.shape).toEqual([34, 28, 3]);
    expect(s.grayShape).toEqual([22, 18, 1]);
    for (const diff of [s.rgbDiff, s.autoDiff, s.grayDiff, s.tiledEnsembleDiff]) expect(diff).toBeLessThan(1e-4);
  });

  it('gives the same result from the session without the memory arena that large inputs use', () => {
    expect(r.selection.leanDiff).toBeLessThan(1e-4);
    expect(r.selection.arenaGrayDiff).toBeLessThan(1e-4);
    expect(r.selection.leanGrayDiff).toBeLessThan(1e-4);
  });

  it('caches the export beside the checkpoint and rebuilds it when the weights change', () => {
    const [, onnx, auto] = r.selection.engines;
    expect(onnx.export).toEqual({ path: expect.stringMatching(/srcnn[/\\]model\.onnx$/), rebuilt: true });
    expect(auto.export).toEqual({ path: onnx.export.path, rebuilt: false });
    // A stale export from the old weights, put back beside the new ones, is not used.
    expect(r.rebuilt.engine.export).toEqual({ path: onnx.export.path, rebuilt: true });
    expect(r.rebuilt.cacheReplaced).toBe(true);
    expect(r.rebuilt.newSpread).toBeGreaterThan(1e-4);
    expect(r.rebuilt.newDiff).toBeLessThan(1e-4);
    expect(r.rebuilt.changedFromOld).toBeGreaterThan(0.01);
  });

  it('falls back to the user cache folder, then to memory, when the checkpoint folder cannot take it', () => {
    const [first, second] = r.userCache;
    expect(first).toEqual({ path: expect.stringMatching(/user-cache[/\\]onnx[/\\][0-9a-f]{64}\.onnx$/), rebuilt: true });
    expect(second).toEqual({ path: first.path, rebuilt: false });
    expect(r.memoryOnly).toEqual({ export: { path: null, rebuilt: true }, shape: [34, 28, 3] });
  });
});

describe('when onnxruntime-node cannot load', () => {
  it("auto falls back to tfjs with a note, and 'onnx' is a one-line error naming the cause", async () => {
    const r = await drive('fallback', { NODE_OPTIONS: `--require ${NO_ORT}` });
    expect(r.status).toMatchObject({
      available: false,
      reason: expect.stringMatching(/^onnxruntime-node failed to load: libonnxruntime\.so\.1/),
    });
    expect(r.auto.engine).toMatchObject({ requested: 'auto', active: 'tfjs' });
    expect(r.auto.engine.notes).toEqual([
      expect.stringMatching(/^ONNX Runtime is not available: onnxruntime-node failed to load: .*; running on tfjs instead$/),
    ]);
    expect(r.auto.shape).toEqual([18, 21, 3]);
    expect(r.onnxError).toMatch(/^SrError: ONNX Runtime is not available: onnxruntime-node failed to load: libonnxruntime\.so\.1[^\n]*$/);
  });
});
