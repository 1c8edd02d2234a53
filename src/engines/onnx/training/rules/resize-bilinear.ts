/**
 * SrResizeBilinear: upscaling by a whole factor with half-pixel centres (edges clamp), as ONNX
 * Resize's 'linear' + 'half_pixel'. The map is linear and separable, Y = A_h X A_w^T with A an
 * [out, in] interpolation matrix, so its gradient is A_h^T dY A_w: two MatMuls with constant
 * matrices (only when something below it trains; SRResNet's global skip reads the input itself).
 */
import { type GraphBuilder, type Value } from '../builder';
import { attr } from '../builder';
import { layerConfig, type LayerRule } from './rule';

/** The [out, in] half-pixel bilinear interpolation matrix for one axis. */
export function interpolationMatrix(size: number, factor: number): Float32Array {
  const out = size * factor;
  const a = new Float32Array(out * size);
  for (let o = 0; o < out; o++) {
    const source = Math.max((o + 0.5) / factor - 0.5, 0);
    const i0 = Math.min(Math.floor(source), size - 1);
    const i1 = Math.min(i0 + 1, size - 1);
    const frac = source - i0;
    a[o * size + i0] += 1 - frac;
    a[o * size + i1] += frac;
  }
  return a;
}

function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

function resizeGradient(b: GraphBuilder, dy: Value, x: Value, f: number, name: string): Value {
  const [n, c, h, w] = x.shape;
  const aw = b.constant(`${name}/a_w`, interpolationMatrix(w, f), [w * f, w]);
  const ahT = b.constant(`${name}/a_h_t`, transposed(interpolationMatrix(h, f), h * f, h), [h, h * f]);
  const rows = b.op('MatMul', [dy, aw], [n, c, h * f, w], `${name}/dx_w`);
  return b.op('MatMul', [ahT, rows], [n, c, h, w], `${name}/dx`);
}

export const resizeBilinearRule: LayerRule = {
  classNames: ['SrResizeBilinear'],
  forward({ b, layer, name, inputs }) {
    const f = layerConfig<{ factor: number }>(layer).factor ?? 1;
    const [n, c, h, w] = inputs[0].shape;
    const scales = b.constant(`${name}/scales`, [1, 1, f, f], [4]);
    const output = b.op('Resize', [inputs[0], '', scales], [n, c, h * f, w * f], name, [
      attr.text('mode', 'linear'),
      attr.text('coordinate_transformation_mode', 'half_pixel'),
    ]);
    return { output, saved: f };
  },
  backward({ b, name, inputs, dy, saved }) {
    return { inputs: [resizeGradient(b, dy, inputs[0], saved as number, name)], weights: [] };
  },
};
