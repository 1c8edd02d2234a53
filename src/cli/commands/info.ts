/** `sr info`: which backend runs, why the others were skipped, how to turn them on, threads and versions. */
import path from 'path';
import type { Command } from 'commander';
import { formatTable, style } from '../../core/terminal';
import { startBackend } from '../options';
import { onnxRuntimeStatus } from '../../runtime/onnx/session';

type BackendInfo = Awaited<ReturnType<typeof startBackend>>;
type OnnxStatus = ReturnType<typeof onnxRuntimeStatus>;

/**
 * The install-script policy lives in package.json's `allowScripts` (npm 11 runs a dependency's install
 * script only as that field allows). The GPU downloads are denied there, so turning one on is a policy
 * change plus a rebuild; a denied package is still installed, just without its native library.
 */
const NATIVE_BACKEND_ADVICE: Record<string, string> = {
  'tensorflow-gpu':
    'tensorflow-gpu (NVIDIA GPU with CUDA) is opt-in; package.json allowScripts denies its libtensorflow download: ' +
    '`npm pkg set allowScripts.@tensorflow/tfjs-node-gpu=true --json && npm rebuild @tensorflow/tfjs-node-gpu`',
  tensorflow:
    'tensorflow (native CPU) needs its libtensorflow download, which package.json allowScripts allows; ' +
    'where that download is possible: `npm install @tensorflow/tfjs-node`',
};

/** The command that fetches ONNX Runtime's CUDA provider, whose download package.json allowScripts denies. */
function onnxCudaCommand(): string {
  let script = path.join('node_modules', 'onnxruntime-node', 'script', 'install.js');
  try {
    const pkg = require.resolve('onnxruntime-node/package.json');
    script = path.relative(process.cwd(), path.join(path.dirname(pkg), 'script', 'install.js'));
  } catch {
    /* not installed: the path a project install would have */
  }
  return `ONNXRUNTIME_NODE_INSTALL=cuda12 node ${script}`;
}

/** What to run to enable each native backend or provider that is not in use. */
function adviceFor(info: BackendInfo, onnx: OnnxStatus): string[] {
  const advice = info.skipped.map((skip) => NATIVE_BACKEND_ADVICE[skip.backend]).filter((a): a is string => !!a);
  if (onnx.available && !onnx.cudaInstalled) {
    advice.push(`ONNX Runtime's CUDA provider is opt-in (CUDA 12): \`${onnxCudaCommand()}\``);
  }
  return advice;
}

function backendLine(info: BackendInfo): string {
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  return `${style.bold('backend')}  ${style.ok(info.active)} (tfjs '${info.tfBackend}', ${threads})`;
}

function convsLine(info: BackendInfo): string {
  const conv = info.nativeConv;
  return conv.enabled
    ? `${style.bold('convs')}    ${style.ok("ONNX Runtime's native kernels")} (${conv.threads} thread${conv.threads === 1 ? '' : 's'}; --no-native-conv keeps them on wasm)`
    : `${style.bold('convs')}    wasm (native kernels off: ${conv.reason})`;
}

function engineLine(onnx: OnnxStatus): string {
  const cuda = onnx.cudaInstalled ? 'CUDA provider installed' : 'CUDA provider not installed';
  return onnx.available
    ? `${style.bold('engine')}   ${style.ok('onnx')} for networks (--engine auto): onnxruntime-node ${onnx.version}, CPU; ${cuda}`
    : `${style.bold('engine')}   ${style.ok('tfjs')} for networks (--engine auto); onnx unavailable: ${onnx.reason}`;
}

function versionsTable(info: BackendInfo, onnx: OnnxStatus): string {
  const versions = { ...info.versions, ...(onnx.version ? { 'onnxruntime-node': onnx.version } : {}) };
  return formatTable(['component', 'version'], Object.entries(versions));
}

export function register(program: Command): void {
  program
    .command('info')
    .description(
      'show the compute backend and inference engine in use, why others were skipped and how to enable them, threads and versions',
    )
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const info = await startBackend(cmd);
      const onnx = onnxRuntimeStatus();
      // What `--engine auto` runs networks on (interpolation always runs on tfjs).
      const engineAuto = onnx.available ? 'onnx' : 'tfjs';
      // What `sr train --engine auto` trains pixel recipes on (layer kinds without a rule fall back to tfjs).
      const trainingEngineAuto = onnx.available ? 'onnx' : 'tfjs';
      const advice = adviceFor(info, onnx);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ...info, engineAuto, trainingEngineAuto, onnxruntime: onnx, advice }) + '\n');
        return;
      }
      const lines = [backendLine(info)];
      for (const skip of info.skipped) lines.push(`${style.dim('skipped')}  ${skip.backend}: ${skip.reason}`);
      for (const note of info.notes) lines.push(`${style.warn('note')}     ${note}`);
      if (info.active === 'wasm') lines.push(convsLine(info));
      lines.push(engineLine(onnx));
      lines.push(
        onnx.available
          ? `${style.bold('training')} ${style.ok('onnx')} (sr train --engine auto: the whole step in ONNX Runtime; tfjs for networks with a layer it has no rule for)`
          : `${style.bold('training')} ${style.ok('tfjs')} (sr train --engine auto); onnx unavailable: ${onnx.reason}`,
      );
      for (const line of advice) lines.push(`${style.dim('enable')}   ${line}`);
      lines.push('', versionsTable(info, onnx));
      process.stdout.write(lines.join('\n') + '\n');
    });
}
