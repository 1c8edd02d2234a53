/**
 * Writes Keras-layout HDF5 weight files for tests, with h5wasm as sr reads them: root attribute
 * `layer_names` (fixed-length strings, as h5py writes them), one group per layer with attribute
 * `weight_names`, datasets float32. Two naming styles: Keras 2 (`conv/conv/kernel:0`, the name
 * being a path inside the layer group) and Keras 1 (`conv/conv_W_1:0`, flat in the group).
 */
import * as tf from '@tensorflow/tfjs';
import { loadH5wasm } from '../../src/models/keras-h5';

export interface TestTensor {
  shape: number[];
  values: Float32Array;
}

export interface TestLayer {
  name: string;
  /** Kernel then bias; empty for a layer without weights (a pool). */
  weights: TestTensor[];
}

export type NamingStyle = 'keras2' | 'keras1';

export async function writeKerasH5(file: string, layers: TestLayer[], style: NamingStyle = 'keras2'): Promise<void> {
  const h5 = await loadH5wasm();
  const out = new h5.File(file, 'w');
  try {
    const longest = Math.max(1, ...layers.map((l) => l.name.length));
    out.create_attribute(
      'layer_names',
      layers.map((l) => l.name),
      null,
      `S${longest}`,
    );
    out.create_attribute('backend', 'tensorflow');
    for (const layer of layers) {
      const group = out.create_group(layer.name);
      const suffixes = style === 'keras2' ? ['kernel:0', 'bias:0'] : ['W_1:0', 'b_1:0'];
      const names = layer.weights.map((_, i) => (style === 'keras2' ? `${layer.name}/${suffixes[i]}` : `${layer.name}_${suffixes[i]}`));
      if (names.length === 0) {
        group.create_attribute('weight_names', [], [0], 'S1');
        continue;
      }
      group.create_attribute('weight_names', names, null, `S${Math.max(...names.map((n) => n.length))}`);
      const holder = style === 'keras2' ? group.create_group(layer.name) : group;
      layer.weights.forEach((w, i) => {
        // Keras 2: `<layer>/<layer>/kernel:0` (a path inside the layer group); Keras 1: flat.
        const name = style === 'keras2' ? suffixes[i] : names[i];
        holder.create_dataset({ name, data: w.values, shape: w.shape, dtype: '<f' });
      });
    }
  } finally {
    out.close();
  }
}

/** Every layer of a tfjs model in Keras file order, with its weights (conv layers: kernel, bias). */
export function layersOfModel(model: tf.LayersModel): TestLayer[] {
  return model.layers
    .filter((l) => l.getClassName() !== 'InputLayer')
    .map((l) => ({
      name: l.name,
      weights: l.getWeights().map((w) => ({ shape: w.shape.slice(), values: Float32Array.from(w.dataSync()) })),
    }));
}
