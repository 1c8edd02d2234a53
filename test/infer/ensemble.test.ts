import * as tf from '@tensorflow/tfjs';
import { dihedral, ensembleUpscaler, inverseDihedral } from '../../src/infer/ensemble';
import { modelUpscaler } from '../../src/infer';
import type { Upscaler } from '../../src/infer/upscaler';
import { getArchitecture } from '../../src/models';
import { useTestBackend } from '../helpers/env';

beforeAll(useTestBackend);

test('each of the 8 transforms is undone by its inverse, and they are all different', () => {
  const x = tf.randomUniform([3, 5, 2], 0, 1, 'float32', 1) as tf.Tensor3D;
  const seen = new Set<string>();
  for (let t = 0; t < 8; t++) {
    const y = dihedral(x, t);
    seen.add(Array.from(y.dataSync()).join(',') + y.shape.join('x'));
    const back = inverseDihedral(y, t);
    expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([y, back]);
  }
  expect(seen.size).toBe(8);
  x.dispose();
});

test('the ensemble of an upscaler that commutes with flips is that upscaler; of SRCNN it differs but stays close', async () => {
  // Nearest-neighbour x2 duplicates pixels, so it commutes with every flip and transpose.
  const nearest: Upscaler = {
    name: 'n',
    scale: 2,
    dispose: () => undefined,
    upscale: async (lr) => tf.tidy(() => lr.resizeNearestNeighbor([lr.shape[0] * 2, lr.shape[1] * 2]) as tf.Tensor3D),
  };
  const lr = tf.randomUniform([6, 7, 3], 0, 1, 'float32', 2) as tf.Tensor3D;
  const [plain, ens] = [await nearest.upscale(lr), await ensembleUpscaler(nearest).upscale(lr)];
  expect(tf.max(tf.abs(plain.sub(ens))).dataSync()[0]).toBeLessThan(1e-6);
  const model = getArchitecture('srcnn').build({ kernels: [5, 3, 3], widths: [8, 4], padding: 'same' }, 2, 3);
  const srcnn = modelUpscaler(model, { name: 's', scale: 2, inputSpace: 'y', inputIsUpsampled: true, shrink: 0 });
  const [a, b] = [await srcnn.upscale(lr), await ensembleUpscaler(srcnn).upscale(lr)];
  expect(b.shape).toEqual(a.shape);
  const diff = tf.max(tf.abs(a.sub(b))).dataSync()[0];
  expect(diff).toBeGreaterThan(0);
  expect(diff).toBeLessThan(0.5);
  tf.dispose([lr, plain, ens, a, b]);
  srcnn.dispose();
});
