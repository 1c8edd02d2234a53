/** `sr train MODEL`: train from a YAML config with command-line overrides, checkpoint and resume. */
import { Option, type Command } from 'commander';
import { resolveTrainingConfig, type TrainOverrides } from '../../config/resolve';
import { SRGAN_PHASES } from '../../config/schema';
import { notice, outputMode, progressBar, style, type OutputMode } from '../../core/terminal';
import { backendSummary } from '../../runtime/tfjs';
import { recipeFor } from '../../train/recipes';
import type { ValidationScore } from '../../train/best';
import type { TrainEvent } from '../../train/run';
import { TRAINING_ENGINES, type TrainingEngineChoice } from '../../train/engine';
import type { StepLosses } from '../../train/task';
import { backendOptions, deviceOption, parseScale, positiveInteger, positiveNumber, startBackend } from '../options';

interface TrainCliOptions extends TrainOverrides {
  json?: boolean;
  engine?: TrainingEngineChoice;
}

/** One loss as on the bar; several (SRGAN) as `G 1.2e-2 content 1.1e-2 adversarial 6.9e-1 D 1.38e+0`. */
function formatLosses(losses: StepLosses, digits: number): string {
  const names = Object.keys(losses);
  if (names.length === 1) return losses.loss.toExponential(digits);
  const label = (name: string) => ({ loss: 'G', d_loss: 'D' })[name] ?? name;
  return names.map((name) => `${label(name)} ${losses[name].toExponential(digits)}`).join(' ');
}

/** A validation as the bar shows it (`27.12 dB NIQE 5.43`) and as a line (`27.123 dB / 0.7812 / NIQE 5.432`). */
function formatValidation(score: Omit<ValidationScore, 'iteration'>, line: boolean): string {
  const niqe = score.niqe === undefined ? '' : `${line ? ' /' : ''} NIQE ${score.niqe.toFixed(line ? 3 : 2)}`;
  return line ? `${score.psnr.toFixed(3)} dB / ${score.ssim.toFixed(4)}${niqe}` : `${score.psnr.toFixed(2)} dB${niqe}`;
}

function reporter(mode: OutputMode, iterations: number, out: string, resumeRequested: boolean) {
  const bar = progressBar(mode, 'train', 'loss {loss} | val {val} | {rate} it/s');
  let val = '-';
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
          bar.start(iterations, { loss: '-', val, rate: '-' });
          bar.update(event.iteration);
          break;
        case 'step':
          bar.update(event.iteration, { loss: formatLosses(event.losses, 3), val, rate: event.itPerSec.toFixed(2) });
          if (!mode.interactive)
            notice(
              mode,
              `iter ${event.iteration} loss ${formatLosses(event.losses, 4)} lr ${event.lr.toExponential(2)} ${event.itPerSec.toFixed(2)} it/s`,
            );
          break;
        case 'validation':
          val = formatValidation(event, false);
          if (!mode.interactive)
            notice(mode, `iter ${event.iteration} validation ${formatValidation(event, true)}${event.best ? ' (best)' : ''}`);
          break;
        case 'warning':
          notice(mode, style.warn(event.message));
          break;
        case 'engine':
          notice(mode, style.dim(`training engine: ${event.engine}`));
          if (event.note) notice(mode, style.warn(event.note));
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
    .description(
      'train a network (srcnn, fsrcnn, srresnet) or a recipe (srgan) from a YAML config; checkpoints in --out/last and --out/best',
    )
    .argument('<name>', 'what to train: an architecture (srcnn, fsrcnn, srresnet) or a recipe (srgan: two phases, see --phase)')
    .option('--config <file>', 'YAML config (default: configs/<name>-x<scale>.yaml)')
    .addOption(
      new Option('--phase <phase>', 'srgan: pretrain (the generator with MSE) or gan (adversarial, from --init)').choices([
        ...SRGAN_PHASES,
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
    .addOption(
      new Option('--engine <engine>', 'training engine: onnx (the whole step in ONNX Runtime), tfjs, or auto (onnx when it can)')
        .choices([...TRAINING_ENGINES])
        .default('auto'),
    )
    .option('--json', 'print events as JSON lines on stdout')
    .action(async (name: string, opts: TrainCliOptions, cmd: Command) => {
      const mode = outputMode({ json: opts.json, verbose: cmd.optsWithGlobals().verbose });
      const { recipe, config: recipeConfig } = recipeFor(name);
      const config = resolveTrainingConfig(recipeConfig, opts);
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
          modelLabel: recipeConfig.label(config),
          onEvent: (e: TrainEvent) => report.onEvent(e),
          shouldStop: () => signal !== undefined,
          engine: opts.engine,
          device: deviceOption(cmd),
          threads: backendOptions(cmd).threads,
        };
        const summary = await recipe.train(run);
        report.stop();
        const bestNiqe = summary.best?.niqe === undefined ? '' : `, NIQE ${summary.best.niqe.toFixed(3)}`;
        const best = summary.best
          ? `best ${summary.best.psnr.toFixed(3)} dB${bestNiqe} at iteration ${summary.best.iteration}`
          : 'no validation';
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
