/**
 * Development aid: times the training-step graph of SRCNN or SRResNet (bench shapes) built under
 * several settings of one environment variable, alternating runs so load on the machine hits
 * every variant alike. Usage: ab-step.ts srcnn|srresnet VAR a,b[,c] [runs] [threads]
 */
import * as ort from 'onnxruntime-node';
import { getArchitecture } from '../../../../../src/models';
import { buildPixelStep } from '../../../../../src/engines/onnx/training';

async function main(): Promise<void> {
  const [arch = 'srcnn', variable = 'SR_DW', values = 'conv,taps', runsArg = '10', threadsArg = '2'] = process.argv.slice(2);
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
  const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
  const variants = [];
  for (const value of values.split(',')) {
    process.env[variable] = value;
    const g = buildPixelStep({
      model,
      loss: 'mse',
      optimizer: { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
      inputShape: inShape,
      targetShape: tShape,
    });
    const session = await ort.InferenceSession.create(g.bytes, {
      intraOpNumThreads: Number(threadsArg),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor(
        'float32',
        new Float32Array(size(inShape)).map(() => Math.random()),
        inShape,
      ),
      target: new ort.Tensor(
        'float32',
        new Float32Array(size(tShape)).map(() => Math.random()),
        tShape,
      ),
      lr: new ort.Tensor('float32', Float32Array.of(1e-4), []),
      'model.acc_beta1': new ort.Tensor('float32', Float32Array.of(0.9), []),
      'model.acc_beta2': new ort.Tensor('float32', Float32Array.of(0.999), []),
    };
    model.trainableWeights.forEach(
      (w, i) =>
        (feeds[g.roles[0].params[i].input] = new ort.Tensor('float32', w.read().dataSync() as Float32Array, g.roles[0].params[i].shape)),
    );
    for (const c of g.roles[0].slots) feeds[c.input] = new ort.Tensor('float32', new Float32Array(size(c.shape)), c.shape);
    for (const c of g.roles[0].states) feeds[c.input] = new ort.Tensor('float32', new Float32Array(size(c.shape)).fill(1), c.shape);
    await session.run(feeds);
    variants.push({ value, session, feeds, times: [] as number[], cpu: [] as number[] });
  }
  for (let r = 0; r < Number(runsArg); r++) {
    for (const v of variants) {
      const t = performance.now();
      const c = process.cpuUsage();
      await v.session.run(v.feeds);
      const used = process.cpuUsage(c);
      v.times.push(performance.now() - t);
      v.cpu.push((used.user + used.system) / 1000);
    }
  }
  for (const v of variants) {
    const sorted = [...v.times].sort((p, q) => p - q);
    const cpu = [...v.cpu].sort((p, q) => p - q);
    console.log(
      `${variable}=${v.value}: wall min ${sorted[0].toFixed(1)} median ${sorted[sorted.length >> 1].toFixed(1)} ms; cpu min ${cpu[0].toFixed(1)} median ${cpu[cpu.length >> 1].toFixed(1)} ms`,
    );
  }
}

void main();
