/**
 * What a trained network is, in one place: the architecture and its options at a scale, and what
 * follows from them for everything that runs or stores it (the colour space it takes, whether its
 * input is already upsampled, the border its 'valid' convolutions lose, its working memory). Checkpoint
 * meta, both engines, the ONNX export's metadata and `sr export`'s result all carry this type, built
 * by describeNetwork alone.
 */
import { UsageError } from '../core/errors';
import './architectures';
import { getArchitecture, parseArchitectureOptions, type InputSpace } from './registry';

export interface NetworkDescription {
  /** Registry name of the architecture ('srcnn', 'srresnet', 'fsrcnn'). */
  architecture: string;
  /** Its options, parsed (defaults filled in). */
  options: Record<string, unknown>;
  scale: number;
  /** 'y': one channel (BT.601 Y, Cb/Cr upscaled by bicubic); 'rgb': three channels. */
  inputSpace: InputSpace;
  /** True when the network takes the bicubic-upscaled image (SRCNN), false when it takes LR. */
  inputIsUpsampled: boolean;
  /** Pixels lost per side by 'valid' convolutions; inputs are mirror-padded by this much. */
  shrink: number;
  /** Channels of the widest feature map at output resolution, for automatic tiling. */
  featureChannels: number;
}

/** The description of `architecture` with `options` at `scale`; `where` names the options in errors. */
export function describeNetwork(architecture: string, options: unknown, scale: number, where = 'network'): NetworkDescription {
  const spec = getArchitecture(architecture);
  if (!spec.scales.includes(scale)) throw new UsageError(`${spec.name} does not support x${scale}`);
  const parsed = parseArchitectureOptions(spec, options, where);
  return {
    architecture: spec.name,
    options: parsed,
    scale,
    inputSpace: spec.inputSpace,
    inputIsUpsampled: spec.inputIsUpsampled,
    shrink: spec.shrink(parsed),
    featureChannels: spec.featureChannels(parsed),
  };
}

/** The part of a description the colour pipeline around a network needs (tests build it by hand). */
export type NetworkPlumbing = Pick<NetworkDescription, 'scale' | 'inputSpace' | 'inputIsUpsampled' | 'shrink'> &
  Partial<Pick<NetworkDescription, 'featureChannels'>>;

/** A description with the name a network is shown by ('srcnn-x3', a checkpoint path). */
export type ShownNetwork = NetworkDescription & { name: string };
