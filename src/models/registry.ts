/**
 * Models are found by name. An entry describes what the rest of the program needs to know without
 * reading the network (which colour space goes in, whether the input is already upsampled), and
 * validates its own options, so a config names a model and adding one is adding one file.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UsageError } from '../core/errors';

export type InputSpace = 'y' | 'rgb';

export interface ArchitectureSpec<Options extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  scales: number[];
  /** 'y': one channel (BT.601 Y, Cb/Cr upscaled by bicubic); 'rgb': three channels. */
  inputSpace: InputSpace;
  /** True when the network takes the bicubic-upscaled image (SRCNN), false when it takes LR (SRResNet). */
  inputIsUpsampled: boolean;
  /** Architecture options with their defaults; unknown keys are rejected. */
  options: z.ZodType<Options, z.ZodTypeDef, unknown>;
  /** Builds the network; `seed` makes the initial weights reproducible. */
  build(options: Options, scale: number, seed?: number): tf.LayersModel;
  /**
   * Pixels lost on each side by 'valid' convolutions: the output is the input minus 2 * shrink in
   * each dimension (0 for size-preserving networks).
   */
  shrink(options: Options): number;
  /**
   * Channels of the widest feature map, counted at output resolution (a map at half resolution
   * counts a quarter): what one output pixel costs in working memory, for automatic tiling.
   */
  featureChannels(options: Options): number;
  /** Options that only choose the initial weights: checkpoints that differ in them hold the same network. */
  initOnly?: readonly (keyof Options & string)[];
}

const registry = new Map<string, ArchitectureSpec>();

export function registerArchitecture<O extends Record<string, unknown>>(spec: ArchitectureSpec<O>): ArchitectureSpec<O> {
  // Options pass through the schema on every build, so keys added after a checkpoint (or a caller)
  // was written take their defaults.
  const registered: ArchitectureSpec<O> = {
    ...spec,
    build: (options, scale, seed) => spec.build(spec.options.parse(options), scale, seed),
  };
  registry.set(spec.name, registered as unknown as ArchitectureSpec);
  return registered;
}

/**
 * Whether two option sets (a checkpoint's, a config's) describe the same network: both read through
 * the architecture's schema (so keys added since either was written take their defaults), compared
 * without the options that only choose initial weights.
 */
export function sameNetwork(name: string, a: unknown, b: unknown): boolean {
  const spec = findArchitecture(name);
  if (!spec) return false;
  const normalised = (options: unknown): string | undefined => {
    const parsed = spec.options.safeParse(options ?? {});
    if (!parsed.success) return undefined;
    const kept = Object.entries(parsed.data).filter(([key]) => !(spec.initOnly ?? []).includes(key));
    return JSON.stringify(kept.sort(([x], [y]) => (x < y ? -1 : 1)));
  };
  const [x, y] = [normalised(a), normalised(b)];
  return x !== undefined && x === y;
}

export function findArchitecture(name: string): ArchitectureSpec | undefined {
  return registry.get(name);
}

export function getArchitecture(name: string): ArchitectureSpec {
  const spec = registry.get(name);
  if (!spec) throw new UsageError(`unknown architecture '${name}' (known: ${architectureNames().join(', ')})`);
  return spec;
}

/** Hands out one initializer seed per layer, derived from a run's seed. */
export function seeds(seed = 0): () => number {
  let k = 0;
  return () => (seed * 1000 + k++) >>> 0;
}

export function architectureNames(): string[] {
  return [...registry.keys()];
}

/** Parses architecture options, naming the offending key on failure. */
export function parseArchitectureOptions(spec: ArchitectureSpec, raw: unknown, where = 'network'): Record<string, unknown> {
  const parsed = spec.options.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = [where, ...issue.path].join('.');
    throw new UsageError(`${key}: ${issue.message}`);
  }
  return parsed.data;
}
