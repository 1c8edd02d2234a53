/**
 * Development aid: runs the training-step graph of SRCNN or SRResNet (bench shapes) a few times and
 * prints the wall and CPU time per step; PROFILE=1 also writes ONNX Runtime's per-node profile to
 * /tmp/prof, THREADS sets its threads. Usage: profile-step.ts srcnn|srresnet [steps]
 */
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import { getArchitecture } from '../../../../../src/models';
import { buildPixelStep } from '../../../../../src/engines/onnx/training';

async function main() {
  const arch = process.argv[2] ?? 'srcnn';
  const a = getArchitecture(arch);
  const model = arch === 'srcnn' ? a.build(a.options.parse({}), 3, 1) : a.build(a.options.parse({ blocks: 16, width: 64 }), 4, 1);
  const [inShape, tShape] =
    arch === 'srcnn'
      ? [
          [16, 33, 33, 1],
          [16, 33, 33, 1],
        ]
      : [
          [16, 24, 24, 3],
          [16, 96, 96, 3],
        ];
  const g = buildPixelStep({
    model,
    loss: 'mse',
    optimizer: { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    inputShape: inShape,
    targetShape: tShape,
  });
  // Development aid: the graph and ONNX Runtime's per-node profile (PROFILE=1) go to /tmp/prof.
  fs.mkdirSync('/tmp/prof', { recursive: true });
  fs.writeFileSync(`/tmp/prof/${arch}.onnx`, g.bytes);
  const s = await ort.InferenceSession.create(g.bytes, {
    intraOpNumThreads: Number(process.env.THREADS ?? 2),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableProfiling: process.env.PROFILE === '1',
    profileFilePrefix: `/tmp/prof/${arch}`,
    logSeverityLevel: 3,
  });
  const feeds: Record<string, ort.Tensor> = {};
  const sz = (s: number[]) => s.reduce((a, b) => a * b, 1);
  feeds.input = new ort.Tensor(
    'float32',
    new Float32Array(sz(inShape)).map(() => Math.random()),
    inShape,
  );
  feeds.target = new ort.Tensor(
    'float32',
    new Float32Array(sz(tShape)).map(() => Math.random()),
    tShape,
  );
  feeds.lr = new ort.Tensor('float32', Float32Array.of(1e-4), []);
  feeds['model.acc_beta1'] = new ort.Tensor('float32', Float32Array.of(0.9), []);
  feeds['model.acc_beta2'] = new ort.Tensor('float32', Float32Array.of(0.999), []);
  const all = [...g.roles[0].params, ...g.roles[0].slots, ...g.roles[0].states];
  model.trainableWeights.forEach(
    (w, i) =>
      (feeds[g.roles[0].params[i].input] = new ort.Tensor('float32', w.read().dataSync() as Float32Array, g.roles[0].params[i].shape)),
  );
  for (const c of [...g.roles[0].slots]) feeds[c.input] = new ort.Tensor('float32', new Float32Array(sz(c.shape)), c.shape);
  for (const c of [...g.roles[0].states]) feeds[c.input] = new ort.Tensor('float32', new Float32Array(sz(c.shape)).fill(1), c.shape);
  const n = Number(process.argv[3] ?? 5);
  const times: number[] = [];
  await s.run(feeds);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await s.run(feeds);
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  console.log('cpu ms/step', ((cpu.user + cpu.system) / 1000 / n).toFixed(1));
  console.log('times', times.map((t) => t.toFixed(1)).join(' '));
  const file = s.endProfiling();
  void all;
  console.log(file);
}
main();
