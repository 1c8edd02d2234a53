/**
 * scripts/gpu-check.sh's step comparison without a GPU: both runs fall back to the CPU, say why,
 * and (ONNX Runtime on the CPU being deterministic for one graph and input) agree exactly.
 */
import * as path from 'path';
import { runTsScript } from '../helpers/child';
import { onnxRuntimeStatus } from '../../src/runtime/onnx/session';

const status = onnxRuntimeStatus();
const itWithoutCuda = status.available && !status.cudaInstalled ? it : it.skip;

interface Compared {
  providers: string[];
  lossCpu: number;
  lossOther: number;
  lossRel: number;
  weightsMaxRelRms: number;
}

itWithoutCuda(
  'device-check falls back to the CPU, says why, and compares a pixel step and a GAN step',
  async () => {
    const run = await runTsScript<Compared & { cuda: string | boolean; gan: Compared }>(
      path.join(__dirname, '..', '..', 'src', 'bench', 'device-check.ts'),
      [],
      {},
      240_000,
    );
    expect(run.code).toBe(0);
    const r = run.result!;
    expect(r.cuda).toMatch(/^CUDA provider not installed \(ONNX Runtime \d+\.\d+\.\d+\)$/);
    for (const step of [r, r.gan]) {
      expect(step.providers).toEqual(['cpu', 'cpu']);
      expect(Number.isFinite(step.lossCpu) && step.lossCpu > 0).toBe(true);
      expect(step.lossRel).toBe(0);
      expect(step.weightsMaxRelRms).toBe(0);
    }
  },
  300_000,
);
