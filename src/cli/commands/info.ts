/** `sr info`: which backend runs, why the others were skipped, threads and versions. */
import type { Command } from 'commander';
import { formatTable, style } from '../../core/terminal';
import { startBackend } from '../options';
import { onnxRuntimeStatus } from '../../runtime/onnx/session';

export function register(program: Command): void {
  program
    .command('info')
    .description('show the compute backend and inference engine in use, why others were skipped, threads and versions')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const info = await startBackend(cmd);
      const onnx = onnxRuntimeStatus();
      // What `--engine auto` runs networks on (interpolation always runs on tfjs).
      const engineAuto = onnx.available ? 'onnx' : 'tfjs';
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ...info, engineAuto, onnxruntime: onnx }) + '\n');
        return;
      }
      const lines = [
        `${style.bold('backend')}  ${style.ok(info.active)} (tfjs '${info.tfBackend}', ${info.threads} thread${info.threads === 1 ? '' : 's'})`,
      ];
      for (const skip of info.skipped) lines.push(`${style.dim('skipped')}  ${skip.backend}: ${skip.reason}`);
      for (const note of info.notes) lines.push(`${style.warn('note')}     ${note}`);
      if (info.active === 'wasm') {
        const conv = info.nativeConv;
        lines.push(
          conv.enabled
            ? `${style.bold('convs')}    ${style.ok("ONNX Runtime's native kernels")} (${conv.threads} thread${conv.threads === 1 ? '' : 's'}; --no-native-conv keeps them on wasm)`
            : `${style.bold('convs')}    wasm (native kernels off: ${conv.reason})`,
        );
      }
      const cuda = onnx.cudaInstalled ? 'CUDA provider installed' : 'CUDA provider not installed';
      lines.push(
        onnx.available
          ? `${style.bold('engine')}   ${style.ok('onnx')} for networks (--engine auto): onnxruntime-node ${onnx.version}, CPU; ${cuda}`
          : `${style.bold('engine')}   ${style.ok('tfjs')} for networks (--engine auto); onnx unavailable: ${onnx.reason}`,
      );
      const versions = { ...info.versions, ...(onnx.version ? { 'onnxruntime-node': onnx.version } : {}) };
      lines.push('', formatTable(['component', 'version'], Object.entries(versions)));
      process.stdout.write(lines.join('\n') + '\n');
    });
}
