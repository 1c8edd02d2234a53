/** `sr train MODEL`: train from a YAML config with command-line overrides, checkpoint and resume. */
import * as fs from 'fs';
import * as path from 'path';
import { Option, type Command } from 'commander';
import { backendSummary } from '../../runtime/tfjs';
import {
  checkSchema,
  parseConfig,
  readYaml,
  requireDir,
  setPath,
  srganConfigSchema,
  srganPhaseConfig,
  trainingConfigSchema,
  type SrganPhase,
  type TrainingConfig,
} from '../../config';
import { UsageError } from '../../core/errors';
import { locateVggWeights } from '../../models/vgg';
import { MISSING_INIT, trainGan, vggSource } from '../../train/gan';
import type { StepLosses } from '../../train/run';
import { trainSupervised, type TrainEvent } from '../../train/supervised';
import { notice, outputMode, progressBar, style, type OutputMode } from '../../core/terminal';
import { parseScale, positiveInteger, positiveNumber, startBackend } from '../options';
import { packagePath } from '../../core/paths';

interface TrainCliOptions {
  config?: string;
  scale?: number;
  data?: string;
  val?: string;
  iterations?: number;
  batchSize?: number;
  lr?: number;
  out?: string;
  seed?: number;
  resume?: boolean;
  init?: string;
  onNan?: string;
  phase?: SrganPhase;
  json?: boolean;
}

/** What `sr train srgan` trains in each phase, and what its weights are called. */
const SRGAN_PHASE_LABEL: Record<SrganPhase, string> = { pretrain: 'srresnet', gan: 'srgan' };

export function packageConfigsDir(): string {
  return packagePath('configs');
}

interface BaseConfig {
  raw: Record<string, unknown>;
  source: string;
  /** For srgan: the phase the config runs. */
  phase?: SrganPhase;
}

/** The config file to start from: --config, the run's own config on --resume, or the packaged default. */
function baseConfig(model: string, opts: TrainCliOptions): BaseConfig {
  if (opts.resume && opts.out && !opts.config && fs.existsSync(path.join(opts.out, 'config.json'))) {
    const file = path.join(opts.out, 'config.json');
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    // A run folder records one phase of SRGAN: the one it holds.
    const phase: SrganPhase | undefined = model === 'srgan' ? (raw.gan ? 'gan' : 'pretrain') : undefined;
    if (phase && opts.phase && opts.phase !== phase)
      throw new UsageError(`${opts.out} is a --phase ${phase} run, not --phase ${opts.phase}`);
    return { raw, source: file, phase };
  }
  let file = opts.config;
  if (!file) {
    // Without --scale, the first packaged config for the model (srcnn: x3, srresnet/srgan: x4).
    const scales = opts.scale ? [opts.scale] : [3, 4, 2];
    file = scales.map((s) => path.join(packageConfigsDir(), `${model}-x${s}.yaml`)).find((f) => fs.existsSync(f));
    if (!file) throw new UsageError(`no packaged config for ${model}${opts.scale ? ` x${opts.scale}` : ''}; give one with --config`);
  }
  const raw = readYaml(file) as Record<string, unknown>;
  if (model !== 'srgan') return { raw, source: file };
  const phase = opts.phase ?? 'pretrain';
  return { raw: srganPhaseConfig(checkSchema(srganConfigSchema, raw, file), phase), source: file, phase };
}

/** Applies command-line overrides over the file, then validates the result. */
export function resolveTrainConfig(model: string, opts: TrainCliOptions): TrainingConfig {
  const { raw, source, phase } = baseConfig(model, opts);
  const overrides: [string, unknown][] = [
    ['scale', opts.scale],
    ['data.train', opts.data?.includes(',') ? opts.data.split(',') : opts.data],
    ['data.val', opts.val],
    ['train.iterations', opts.iterations],
    ['data.batch_size', opts.batchSize],
    ['train.lr', opts.lr],
    ['train.seed', opts.seed],
    ['train.on_nan', opts.onNan],
    ['out', opts.out],
    ['init', opts.init],
  ];
  for (const [key, value] of overrides) if (value !== undefined) setPath(raw, key, value);
  // SRGAN's phases both train the SRResNet generator.
  const network = model === 'srgan' ? 'srresnet' : model;
  if (raw.model !== undefined && raw.model !== network) {
    throw new UsageError(`${source} trains '${String(raw.model)}', not '${model}'`);
  }
  raw.model = network;
  const config = parseConfig(trainingConfigSchema, raw, source);
  if (!config.out) config.out = `runs/${phase ? SRGAN_PHASE_LABEL[phase] : model}-x${config.scale}`;
  for (const dir of [config.data.train].flat()) requireDir(dir, 'training data');
  if (config.data.val) requireDir(config.data.val, 'validation data');
  if (config.gan && !config.init && !fs.existsSync(path.join(config.out, 'last'))) throw new UsageError(MISSING_INIT);
  // The VGG19 weights are checked before minutes go into loading the training images.
  if (config.gan && config.gan.content_loss !== 'mse') locateVggWeights(vggSource(config.gan));
  return config;
}

/** One loss as on the bar; several (SRGAN) as `G 1.2e-2 content 1.1e-2 adversarial 6.9e-1 D 1.38e+0`. */
function formatLosses(losses: StepLosses, digits: number): string {
  const names = Object.keys(losses);
  if (names.length === 1) return losses.loss.toExponential(digits);
  const label = (name: string) => ({ loss: 'G', d_loss: 'D' })[name] ?? name;
  return names.map((name) => `${label(name)} ${losses[name].toExponential(digits)}`).join(' ');
}

function reporter(mode: OutputMode, iterations: number, out: string, resumeRequested: boolean) {
  const bar = progressBar(mode, 'train', 'loss {loss} | val {psnr} dB | {rate} it/s');
  let psnr = '-';
  return {
    onEvent(event: TrainEvent) {
      if (mode.json) {
        process.stdout.write(JSON.stringify(event) + '\n');
        return;
      }
      switch (event.type) {
        case 'skipped':
          // Reasons from readImage already start with the file name.
          notice(
            mode,
            style.warn(
              `skipping ${event.file}: ${event.reason.startsWith(`${event.file}: `) ? event.reason.slice(event.file.length + 2) : event.reason}`,
            ),
          );
          break;
        case 'start':
          if (resumeRequested && !event.resumed)
            notice(mode, style.warn(`--resume: ${out} holds no checkpoint yet, so training starts from scratch`));
          notice(
            mode,
            `${event.resumed ? 'resuming at' : 'starting at'} iteration ${event.iteration}/${iterations} on ${event.trainImages} images`,
          );
          bar.start(iterations, { loss: '-', psnr, rate: '-' });
          bar.update(event.iteration);
          break;
        case 'step':
          bar.update(event.iteration, { loss: formatLosses(event.losses, 3), psnr, rate: event.itPerSec.toFixed(2) });
          if (!mode.interactive)
            notice(
              mode,
              `iter ${event.iteration} loss ${formatLosses(event.losses, 4)} lr ${event.lr.toExponential(2)} ${event.itPerSec.toFixed(2)} it/s`,
            );
          break;
        case 'validation':
          psnr = event.psnr.toFixed(2);
          if (!mode.interactive)
            notice(
              mode,
              `iter ${event.iteration} validation ${event.psnr.toFixed(3)} dB / ${event.ssim.toFixed(4)}${event.best ? ' (best)' : ''}`,
            );
          break;
        case 'nan':
          notice(mode, style.warn(`iteration ${event.iteration}: loss is not finite (${event.action})`));
          break;
        default:
          break;
      }
    },
    stop: () => bar.stop(),
  };
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a model (srcnn, srresnet, srgan) from a YAML config; checkpoints in --out/last and --out/best')
    .argument('<model>', 'what to train: srcnn, srresnet, or srgan (two phases, see --phase)')
    .option('--config <file>', 'YAML config (default: configs/<model>-x<scale>.yaml)')
    .addOption(
      new Option('--phase <phase>', 'srgan: pretrain (the generator with MSE) or gan (adversarial, from --init)').choices([
        'pretrain',
        'gan',
      ]),
    )
    .option('--scale <n>', 'upscaling factor: 2, 3 or 4', parseScale)
    .option('--data <dir>', 'folder of HR training images (comma-separated for several)')
    .option('--val <dir>', 'folder of HR validation images')
    .option('--iterations <n>', 'total training iterations', positiveInteger('--iterations'))
    .option('--batch-size <n>', 'patches per batch', positiveInteger('--batch-size'))
    .option('--lr <rate>', 'initial learning rate', positiveNumber('--lr'))
    .option('--seed <n>', 'random seed', positiveInteger('--seed'))
    .option('--out <dir>', 'run folder for checkpoints and logs')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--init <checkpoint>', 'start from the weights of this checkpoint (fine-tuning)')
    .option('--on-nan <action>', "'stop' (default) or 'skip' batches whose loss is not finite")
    .option('--json', 'print events as JSON lines on stdout')
    .action(async (model: string, opts: TrainCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      if (opts.phase && model !== 'srgan') throw new UsageError('--phase is for `sr train srgan`');
      const config = resolveTrainConfig(model, opts);
      const adversarial = Boolean(config.gan);
      const info = await startBackend(cmd);
      notice(mode, style.dim(`backend: ${backendSummary(info)}; run folder ${config.out}`));
      let signal: NodeJS.Signals | undefined;
      const onSignal = (s: NodeJS.Signals) => {
        if (signal) process.exit(s === 'SIGINT' ? 130 : 143); // second signal: leave now
        signal = s;
        notice(mode, style.warn(`${s}: saving a checkpoint, then stopping (again to quit at once)`));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const report = reporter(mode, config.train.iterations, config.out!, Boolean(opts.resume));
      try {
        const run = {
          config,
          out: config.out!,
          resume: Boolean(opts.resume),
          modelLabel: model === 'srgan' ? SRGAN_PHASE_LABEL[adversarial ? 'gan' : 'pretrain'] : model,
          onEvent: (e: TrainEvent) => report.onEvent(e),
          shouldStop: () => signal !== undefined,
        };
        const summary = adversarial ? await trainGan(run) : await trainSupervised(run);
        report.stop();
        const best = summary.best ? `best ${summary.best.psnr.toFixed(3)} dB at iteration ${summary.best.iteration}` : 'no validation';
        if (mode.json) process.stdout.write(JSON.stringify({ type: 'done', ...summary }) + '\n');
        else
          notice(
            mode,
            `${summary.stoppedEarly ? 'stopped' : 'finished'} at iteration ${summary.iteration} (${(summary.seconds / 60).toFixed(1)} min), ${best}`,
          );
        if (signal) process.exitCode = signal === 'SIGINT' ? 130 : 143;
      } finally {
        report.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
