/**
 * OnnxTrainer: trains tf.LayersModels with the whole step (forward, loss, backward, optimizer,
 * batch-norm statistics) in one ONNX Runtime session. A pixel-loss step trains one network (role
 * 'model'); SRGAN's adversarial step trains a generator ('model') and a discriminator
 * ('discriminator'), each with its own optimizer. Weights, slots and statistics live as ort.Tensors
 * between steps: each step feeds them in and keeps the tensors of their new values for the next.
 * (onnxruntime-node 1.30 takes pre-allocated outputs and fills them, but hands back a separate copy
 * anyway, and its Node API has no IO binding, so there is no copy to save there.) The
 * tf.LayersModels are written only when asked (validation, checkpoints), and optimizer slots go in
 * and out in tfjs's own format, so a run resumes on either engine.
 *
 * What stays in JS: batches, the learning rate of the schedule, Adam's running beta powers (one
 * float32 product per applied step, as tfjs keeps them), each optimizer's step count, and whether
 * a step was applied (its loss finite).
 */
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { SrError, firstLine } from '../../../core/errors';
import { createSession, onnxRuntime, type OnnxSession } from '../../../runtime/onnx/session';
import { layersWithoutRule } from './rules';
import { slotKinds, type OptimizerSpec } from './optimizers';
import { ROLL_INPUTS, buildPixelStep, type StepGraph } from './step-graph';
import { rollIndices, stepShift } from '../../../core/roll';
import { buildGanStep } from './gan-graph';
import type { PixelLossKind } from './losses';

export interface OnnxTrainerOptions {
  loss: PixelLossKind;
  optimizer: OptimizerSpec;
  /** ONNX Runtime's intra-op threads (default: every core). */
  threads?: number;
  /** Use the CUDA execution provider when it is installed (default false: the CPU). */
  cuda?: boolean;
}

export interface OnnxGanOptions extends Omit<OnnxTrainerOptions, 'loss'> {
  discriminator: tf.LayersModel;
  /** The frozen VGG19 feature extractor of the content loss, or undefined for the pixel MSE. */
  features?: tf.LayersModel;
  adversarialWeight: number;
  /** Weight and kind of the pixel loss added to the generator's (0 or absent: none). */
  pixelWeight?: number;
  pixelLoss?: PixelLossKind;
  /** VGG and the discriminator see SR and HR rolled by each step's shift below this period (gan.roll_views). */
  rollPeriod?: number;
}

/** The batch as the step reads it: NHWC float32 input and target. */
export interface TrainingBatch {
  input: Float32Array;
  target: Float32Array;
  inputShape: readonly number[];
  targetShape: readonly number[];
}

/** tfjs's optimizer state format: [{name: 'iter'}, ...slots], as tf.Optimizer.getWeights() returns it. */
export type OptimizerWeights = { name: string; tensor: tf.Tensor }[];

/** beta^(steps + 1) as a float32 running product, the way tfjs's Adam accumulates it. */
export function float32Power(beta: number, steps: number): number {
  const b = Math.fround(beta);
  let value = b;
  for (let i = 0; i < steps; i++) value = Math.fround(value * b);
  return value;
}

interface StepSession {
  graph: StepGraph;
  session: OnnxSession;
}

/** One trained network: its variables and its optimizer's step count. */
interface Role {
  name: string;
  model: tf.LayersModel;
  params: tf.LayerVariable[];
  states: tf.LayerVariable[];
  paramShapes: number[][];
  stateShapes: number[][];
  slotNames: string[];
  iterations: number;
}

type GraphBuilderFor = (batch: TrainingBatch) => StepGraph;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A LayerVariable's registered name, as tfjs's optimizers name their slots after it. */
function variableName(v: tf.LayerVariable): string {
  return (v as unknown as { val: tf.Variable }).val.name;
}

function checkRules(models: tf.LayersModel[]): void {
  const missing = models.flatMap((m) => layersWithoutRule(m));
  if (missing.length) throw new SrError(`the onnx training engine has no rule for layer ${missing[0]}`);
}

export class OnnxTrainer {
  private readonly ort = onnxRuntime();
  private readonly sessions = new Map<string, Promise<StepSession>>();
  private readonly tensors = new Map<string, Ort.Tensor>();
  private readonly roles: Role[];
  private disposed = false;
  /** 'cpu' or 'cuda' once the first step's session exists. */
  provider: 'cpu' | 'cuda' | undefined;
  readonly notes: string[] = [];

  private constructor(
    models: Record<string, tf.LayersModel>,
    readonly options: Omit<OnnxTrainerOptions, 'loss'>,
    private readonly buildGraph: GraphBuilderFor,
  ) {
    const kinds = slotKinds(options.optimizer);
    this.roles = Object.entries(models).map(([name, model]) => {
      const params = model.trainableWeights;
      const states = model.nonTrainableWeights;
      return {
        name,
        model,
        params,
        states,
        paramShapes: params.map((p) => p.shape as number[]),
        stateShapes: states.map((s) => s.shape as number[]),
        // tfjs names slots after the variable they belong to: '<variable>/m', '<variable>/v', '<variable>/momentum'.
        slotNames: kinds.flatMap((kind) => params.map((p) => `${variableName(p)}/${kind}`)),
        iterations: 0,
      };
    });
    this.readModel();
    for (const role of this.roles) this.resetSlots(role);
  }

  /** A trainer for `model` under a pixel loss, or an SrError naming the first layer without a rule. */
  static create(model: tf.LayersModel, options: OnnxTrainerOptions): OnnxTrainer {
    checkRules([model]);
    return new OnnxTrainer({ model }, options, (batch) =>
      buildPixelStep({
        model,
        loss: options.loss,
        optimizer: options.optimizer,
        inputShape: [...batch.inputShape],
        targetShape: [...batch.targetShape],
      }),
    );
  }

  /** A trainer for SRGAN's adversarial step: `generator` is role 'model', the discriminator 'discriminator'. */
  static createGan(generator: tf.LayersModel, options: OnnxGanOptions): OnnxTrainer {
    checkRules([generator, options.discriminator, ...(options.features ? [options.features] : [])]);
    return new OnnxTrainer({ model: generator, discriminator: options.discriminator }, options, (batch) =>
      buildGanStep({
        generator,
        discriminator: options.discriminator,
        features: options.features,
        adversarialWeight: options.adversarialWeight,
        pixelWeight: options.pixelWeight,
        pixelLoss: options.pixelLoss,
        rollPeriod: options.rollPeriod,
        optimizer: options.optimizer,
        inputShape: [...batch.inputShape],
        targetShape: [...batch.targetShape],
      }),
    );
  }

  private role(name: string): Role {
    const role = this.roles.find((r) => r.name === name);
    if (!role) throw new SrError(`the onnx trainer trains no '${name}' network`);
    return role;
  }

  /** Steps applied so far by an optimizer (tfjs's 'iter'). */
  iterationsOf(role = 'model'): number {
    return this.role(role).iterations;
  }

  get iterations(): number {
    return this.iterationsOf('model');
  }

  private carry(name: string, data: Float32Array, shape: readonly number[]): void {
    this.tensors.set(name, new this.ort.Tensor('float32', Float32Array.from(data), shape));
  }

  /** Takes the models' weights (after --init, or a checkpoint loaded into them). */
  readModel(): void {
    for (const r of this.roles) {
      r.params.forEach((p, i) => this.carry(`${r.name}.param.${i}`, p.read().dataSync() as Float32Array, r.paramShapes[i]));
      r.states.forEach((s, i) => this.carry(`${r.name}.state.${i}`, s.read().dataSync() as Float32Array, r.stateShapes[i]));
    }
  }

  private resetSlots(role: Role): void {
    for (const kind of slotKinds(this.options.optimizer)) {
      role.paramShapes.forEach((shape, i) => this.carry(`${role.name}.slot.${kind}.${i}`, new Float32Array(sizeOf(shape)), shape));
    }
    role.iterations = 0;
  }

  /** Writes the trainer's weights and statistics into the tf.LayersModels. */
  writeModel(): void {
    const write = (v: tf.LayerVariable, name: string) => {
      const t = tf.tensor(this.tensors.get(name)!.data as Float32Array, v.shape as number[]);
      v.write(t);
      t.dispose();
    };
    for (const r of this.roles) {
      r.params.forEach((p, i) => write(p, `${r.name}.param.${i}`));
      r.states.forEach((s, i) => write(s, `${r.name}.state.${i}`));
    }
  }

  /** A role's optimizer state as tfjs's getWeights() gives it (the caller disposes the tensors). */
  optimizerWeights(roleName = 'model'): OptimizerWeights {
    const role = this.role(roleName);
    const slots = slotKinds(this.options.optimizer).flatMap((kind) =>
      role.paramShapes.map((shape, i) =>
        tf.tensor(Float32Array.from(this.tensors.get(`${role.name}.slot.${kind}.${i}`)!.data as Float32Array), shape),
      ),
    );
    return [
      { name: 'iter', tensor: tf.scalar(role.iterations, 'int32') },
      ...slots.map((tensor, i) => ({ name: role.slotNames[i], tensor })),
    ];
  }

  /** Loads optimizer state saved by tfjs (or by optimizerWeights), matched by position as tfjs does. */
  setOptimizerWeights(weights: OptimizerWeights, roleName = 'model'): void {
    const role = this.role(roleName);
    const [iter, ...slots] = weights;
    if (iter?.name !== 'iter' || slots.length !== role.slotNames.length) {
      throw new SrError(
        `the saved optimizer state has ${slots.length} slots; this network's ${this.options.optimizer.kind} needs ${role.slotNames.length}`,
      );
    }
    const kinds = slotKinds(this.options.optimizer);
    const n = role.params.length;
    slots.forEach((s, k) => {
      const i = k % n;
      if (s.tensor.size !== sizeOf(role.paramShapes[i])) {
        throw new SrError(`optimizer slot '${s.name}' does not fit weight '${variableName(role.params[i])}'`);
      }
      this.carry(`${role.name}.slot.${kinds[Math.floor(k / n)]}.${i}`, s.tensor.dataSync() as Float32Array, role.paramShapes[i]);
    });
    role.iterations = iter.tensor.dataSync()[0];
  }

  private sessionFor(batch: TrainingBatch): Promise<StepSession> {
    const key = `${batch.inputShape.join('x')}->${batch.targetShape.join('x')}`;
    let pending = this.sessions.get(key);
    if (!pending) {
      pending = (async () => {
        const graph = this.buildGraph(batch);
        const session = await createSession(graph.bytes, { threads: this.options.threads, cuda: this.options.cuda === true });
        this.provider = session.provider;
        this.notes.push(...session.notes);
        return { graph, session };
      })();
      this.sessions.set(key, pending);
    }
    return pending;
  }

  private scalarFeeds(lr: number): Record<string, Ort.Tensor> {
    const one = (v: number) => new this.ort.Tensor('float32', Float32Array.of(v), []);
    const feeds: Record<string, Ort.Tensor> = { lr: one(lr) };
    const spec = this.options.optimizer;
    if (spec.kind === 'adam') {
      for (const r of this.roles) {
        feeds[`${r.name}.acc_beta1`] = one(float32Power(spec.beta1, r.iterations));
        feeds[`${r.name}.acc_beta2`] = one(float32Power(spec.beta2, r.iterations));
      }
    }
    return feeds;
  }

  /** The index inputs of a graph that rolls its views: the shift of the generator's next step, and its inverse. */
  private rollFeeds(graph: StepGraph): Record<string, Ort.Tensor> {
    if (!graph.roll) return {};
    const { period, height, width } = graph.roll;
    const [dy, dx] = stepShift(this.role('model').iterations, period);
    const index = (size: number, shift: number) =>
      new this.ort.Tensor('int64', BigInt64Array.from(rollIndices(size, shift), BigInt), [size]);
    return {
      [ROLL_INPUTS.rows]: index(height, dy),
      [ROLL_INPUTS.cols]: index(width, dx),
      [ROLL_INPUTS.rowsBack]: index(height, -dy),
      [ROLL_INPUTS.colsBack]: index(width, -dx),
    };
  }

  /**
   * One step on `batch` at learning rate `lr`; returns every loss of the step ('loss' is the one
   * minimised, the generator's for a GAN). A network whose loss is not finite keeps its weights,
   * slots and statistics, and its optimizer's step count does not advance.
   */
  async stepLosses(batch: TrainingBatch, lr: number): Promise<Record<string, number>> {
    if (this.disposed) throw new SrError('the onnx trainer was disposed');
    const { graph, session } = await this.sessionFor(batch);
    const feeds: Record<string, Ort.Tensor> = {
      input: new this.ort.Tensor('float32', batch.input, batch.inputShape),
      target: new this.ort.Tensor('float32', batch.target, batch.targetShape),
      ...this.scalarFeeds(lr),
      ...this.rollFeeds(graph),
    };
    const fetches = [...graph.losses];
    const carried = graph.roles.flatMap((r) => [...r.params, ...r.slots, ...r.states]);
    for (const c of carried) {
      feeds[c.input] = this.tensors.get(c.input)!;
      if (c.output) fetches.push(c.output);
    }
    let results: Record<string, Ort.Tensor>;
    try {
      results = (await session.session.run(feeds, fetches)) as Record<string, Ort.Tensor>;
    } catch (err) {
      throw new SrError(`ONNX Runtime failed in a training step: ${firstLine(err)}`);
    }
    const losses = Object.fromEntries(graph.losses.map((name) => [name, (results[name].data as Float32Array)[0]]));
    for (const c of carried) if (c.output) this.tensors.set(c.input, results[c.output]);
    for (const r of graph.roles) if (Number.isFinite(losses[r.loss])) this.role(r.role).iterations++;
    return losses;
  }

  /** One pixel-loss step; returns its loss (see stepLosses). */
  async step(batch: TrainingBatch, lr: number): Promise<number> {
    return (await this.stepLosses(batch, lr)).loss;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const pending of this.sessions.values()) {
      try {
        await (await pending).session.session.release();
      } catch {
        // A session that failed to start has nothing to release.
      }
    }
    this.sessions.clear();
    this.tensors.clear();
  }
}
