/**
 * Layers tfjs-layers lacks, registered for (de)serialisation so saved models load by name.
 */
import * as tf from '@tensorflow/tfjs';

/** Sub-pixel shuffle (TensorFlow's DCR depth-to-space) as a layer. */
export class DepthToSpace extends tf.layers.Layer {
  static className = 'SrDepthToSpace';
  readonly blockSize: number;

  constructor(config: { blockSize: number; name?: string }) {
    super(config);
    this.blockSize = config.blockSize;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = inputShape as tf.Shape;
    const b = this.blockSize;
    return [n, h == null ? null : h * b, w == null ? null : w * b, c == null ? null : c / (b * b)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.depthToSpace((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D, this.blockSize, 'NHWC'));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), blockSize: this.blockSize };
  }
}

/** A layer that upscales height and width by a whole factor, keeping the channels. */
abstract class UpscaleLayer extends tf.layers.Layer {
  readonly factor: number;

  constructor(config: { factor: number; name?: string }) {
    super(config);
    this.factor = config.factor;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = inputShape as tf.Shape;
    const f = this.factor;
    return [n, h == null ? null : h * f, w == null ? null : w * f, c];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), factor: this.factor };
  }
}

/**
 * Nearest-neighbour upscaling by a whole factor: every pixel repeated over an f x f cell (ONNX
 * Resize 'nearest' with 'asymmetric' coordinates and 'floor'). Written as f*f copies of the channels
 * shuffled by depth-to-space, so tfjs differentiates it with kernels every backend has.
 */
export class UpsampleNearest extends UpscaleLayer {
  static className = 'SrUpsampleNearest';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const f = this.factor;
      // DCR reads channel (dy * f + dx) * C + c at offset (dy, dx): with f*f copies, always channel c.
      const copies = Array.from({ length: f * f }, () => x);
      return tf.depthToSpace(tf.concat(copies, 3), f, 'NHWC');
    });
  }
}

/** y = x * scale + offset: maps a tanh output in [-1, 1] to pixels in [0, 1]. */
export class ScaleShift extends tf.layers.Layer {
  static className = 'SrScaleShift';
  readonly scale: number;
  readonly offset: number;

  constructor(config: { scale: number; offset: number; name?: string }) {
    super(config);
    this.scale = config.scale;
    this.offset = config.offset;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => (Array.isArray(inputs) ? inputs[0] : inputs).mul(this.scale).add(this.offset));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}

/**
 * Bilinear upscaling by a whole factor with half-pixel centres (TensorFlow's half_pixel_centers,
 * ONNX Resize's 'half_pixel', PyTorch's align_corners=False): the global skip of a residual
 * generator, so the network learns only what interpolation misses.
 */
export class ResizeBilinear extends UpscaleLayer {
  static className = 'SrResizeBilinear';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const [, h, w] = x.shape;
    return tf.image.resizeBilinear(x, [h * this.factor, w * this.factor], false, true);
  }
}

tf.serialization.registerClass(DepthToSpace);
tf.serialization.registerClass(ResizeBilinear);
tf.serialization.registerClass(ScaleShift);
tf.serialization.registerClass(UpsampleNearest);
