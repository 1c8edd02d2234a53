/**
 * Reads Keras HDF5 weight files: the layout of `model.save_weights('x.h5')` and of the Keras
 * Applications downloads (e.g. vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5). The root (or,
 * in a whole-model file, its `model_weights` group) has an attribute `layer_names`; each layer is a
 * group of that name whose attribute `weight_names` lists its datasets, as paths relative to the
 * group (`block1_conv1/kernel:0` in Keras 2 files, `block1_conv1_W_1:0` in Keras 1 ones), in the
 * order the layer takes them (kernel, then bias). Nothing here knows about VGG.
 *
 * HDF5 is read with h5wasm (the HDF5 C library compiled to WebAssembly, shipped inside its npm
 * package). Its Node build is an ES module whose package exports only an `import` condition, so it
 * cannot be require()d from this CommonJS code: it is loaded with a real dynamic import (see
 * loadH5wasm).
 */
import * as fs from 'fs';
import * as vm from 'vm';
import { SrError } from '../core/errors';

export type H5wasm = typeof import('h5wasm');
type H5Group = InstanceType<H5wasm['Group']>;

/** The first bytes of an HDF5 superblock; it sits at offset 0, 512, 1024, 2048... (after a user block). */
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface KerasTensorInfo {
  /** The name in `weight_names`, e.g. `block1_conv1/kernel:0`. */
  name: string;
  shape: number[];
}

export interface KerasTensor extends KerasTensorInfo {
  /** Row-major values as float32 (float64 datasets are converted). */
  values: Float32Array;
}

export interface KerasLayer<T extends KerasTensorInfo = KerasTensor> {
  name: string;
  /** In `weight_names` order; empty for layers without weights (pooling, activations). */
  weights: T[];
}

export interface KerasWeights<T extends KerasTensorInfo = KerasTensor> {
  file: string;
  /** Every layer named in `layer_names`, in file order. */
  layerNames: string[];
  /** The layers that were read (all of them, or those asked for that the file has). */
  layers: Map<string, KerasLayer<T>>;
}

export interface ReadKerasOptions {
  /** Read only these layers (others, e.g. a classifier head, are skipped); names the file lacks are left out. */
  layers?: readonly string[];
}

/** Layer names and weight shapes only, without reading any values: cheap even for a 500 MB file. */
export function inspectKerasWeights(file: string, options: ReadKerasOptions = {}): Promise<KerasWeights<KerasTensorInfo>> {
  return readFile(file, options, false);
}

/** Layer names, shapes and float32 values. */
export function readKerasWeights(file: string, options: ReadKerasOptions = {}): Promise<KerasWeights<KerasTensor>> {
  return readFile(file, options, true) as Promise<KerasWeights<KerasTensor>>;
}

async function readFile(file: string, options: ReadKerasOptions, withValues: boolean): Promise<KerasWeights<KerasTensorInfo>> {
  checkHdf5Signature(file);
  const h5 = await loadH5wasm();
  let handle: InstanceType<H5wasm['File']>;
  try {
    handle = new h5.File(file, 'r');
  } catch (err) {
    throw new SrError(`${file}: cannot open it as HDF5 (${hdf5ErrorSummary(err)})`);
  }
  try {
    return readLayers(h5, handle, file, options, withValues);
  } catch (err) {
    if (err instanceof SrError) throw err;
    throw new SrError(`${file}: cannot read it (${hdf5ErrorSummary(err)})`);
  } finally {
    try {
      handle.close();
    } catch {
      // Closing a file opened read-only cannot lose anything.
    }
  }
}

function readLayers(
  h5: H5wasm,
  handle: InstanceType<H5wasm['File']>,
  file: string,
  options: ReadKerasOptions,
  withValues: boolean,
): KerasWeights<KerasTensorInfo> {
  const root = weightsRoot(h5, handle, file);
  const layerNames = stringList(root.attrs['layer_names']?.value, `${file}: attribute layer_names`);
  const wanted = options.layers ? new Set(options.layers) : undefined;
  const layers = new Map<string, KerasLayer<KerasTensorInfo>>();
  for (const name of layerNames) {
    if (wanted && !wanted.has(name)) continue;
    const group = root.get(name);
    if (!(group instanceof h5.Group)) {
      throw new SrError(`${file}: layer ${name} is listed in layer_names but has no group`);
    }
    const weightNames = group.attrs['weight_names'] ? stringList(group.attrs['weight_names'].value, `${file}: ${name}/weight_names`) : [];
    const weights = weightNames.map((weightName) => readTensor(h5, group, weightName, `${file}: ${name}`, withValues));
    layers.set(name, { name, weights });
  }
  return { file, layerNames, layers };
}

/** The group holding `layer_names`: the root of a weights file, `model_weights` in a whole-model file. */
function weightsRoot(h5: H5wasm, handle: InstanceType<H5wasm['File']>, file: string): H5Group {
  if (handle.attrs['layer_names']) return handle;
  const nested = handle.get('model_weights');
  if (nested instanceof h5.Group && nested.attrs['layer_names']) return nested;
  throw new SrError(`${file}: not a Keras weights file (no layer_names attribute)`);
}

function readTensor(h5: H5wasm, group: H5Group, weightName: string, where: string, withValues: boolean): KerasTensorInfo {
  const dataset = group.get(weightName);
  if (!(dataset instanceof h5.Dataset)) throw new SrError(`${where}: weight ${weightName} is missing`);
  const { metadata } = dataset;
  const shape = dataset.shape ?? [];
  // HDF5 type class 1 is floating point; 4 and 8 bytes are float32 and float64.
  if (metadata.type !== 1 || (metadata.size !== 4 && metadata.size !== 8) || !metadata.littleEndian) {
    throw new SrError(`${where}: weight ${weightName} is not little-endian float32/float64 data`);
  }
  if (!withValues) return { name: weightName, shape };
  const raw = dataset.value;
  if (!ArrayBuffer.isView(raw) || raw instanceof DataView || raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    throw new SrError(`${where}: weight ${weightName} could not be read as numbers`);
  }
  // A copy made in this realm: under jest h5wasm lives in another one, and tfjs checks
  // `instanceof Float32Array`. set() copies typed arrays natively (from() would iterate).
  const source = raw as Float32Array | Float64Array;
  const values = new Float32Array(source.length);
  values.set(source);
  const expected = shape.reduce((a, b) => a * b, 1);
  if (values.length !== expected) {
    throw new SrError(`${where}: weight ${weightName} holds ${values.length} values for shape [${shape.join(', ')}]`);
  }
  return { name: weightName, shape, values } as KerasTensor;
}

/** `layer_names` and `weight_names` are arrays of (fixed- or variable-length) strings; one string is a list of one. */
function stringList(value: unknown, what: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new SrError(`${what} is not a list of strings`);
}

/**
 * Refuses what is not HDF5 before the library sees it: a clear message for an HTML error page or a
 * truncated download, rather than the library's error stack.
 */
export function checkHdf5Signature(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SrError(code === 'ENOENT' ? `${file}: no such file` : `cannot read ${file} (${code ?? (err as Error).message})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(HDF5_SIGNATURE.length);
    for (let offset = 0; offset + buf.length <= size; offset = offset === 0 ? 512 : offset * 2) {
      if (fs.readSync(fd, buf, 0, buf.length, offset) === buf.length && buf.equals(HDF5_SIGNATURE)) return;
    }
  } finally {
    fs.closeSync(fd);
  }
  throw new SrError(`${file}: not an HDF5 file (no HDF5 signature)`);
}

/** The innermost message of an HDF5 error stack ("truncated file: eof = ..."), or the first line of anything else. */
export function hdf5ErrorSummary(err: unknown): string {
  const text = String((err as Error)?.message ?? err);
  const frames = [...text.matchAll(/#\d+: .*? in \w+\(\): (.*)$/gm)];
  const last = frames.length > 0 ? frames[frames.length - 1][1] : text.split('\n')[0];
  return last.trim();
}

let h5wasmLoading: Promise<H5wasm> | undefined;

/**
 * h5wasm's Node build, initialised once, with HDF5 errors turned into exceptions (by default the
 * library prints its error stack to stderr and returns a bad handle).
 */
export function loadH5wasm(): Promise<H5wasm> {
  h5wasmLoading ??= importH5wasm().then(async (h5) => {
    await h5.ready;
    h5.Module.activate_throwing_error_handler();
    return h5;
  });
  h5wasmLoading.catch(() => (h5wasmLoading = undefined));
  return h5wasmLoading;
}

const H5WASM_NODE = 'h5wasm/node';

async function importH5wasm(): Promise<H5wasm> {
  try {
    return (await nativeImport(H5WASM_NODE)) as H5wasm;
  } catch (err) {
    if (!isMissingImportCallback(err)) throw new SrError(`cannot load the HDF5 library h5wasm (${(err as Error).message.split('\n')[0]})`);
  }
  // Code evaluated by a vm sandbox without an import hook (jest runs tests that way) cannot use
  // import(); a function compiled against Node's own loader can (Node >= 20.12).
  const loader = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (!loader) throw new SrError('cannot load the HDF5 library h5wasm here: this sandbox has no import() and Node is older than 20.12');
  const mainImport = vm.compileFunction('return import(specifier)', ['specifier'], {
    filename: __filename,
    importModuleDynamically: loader,
  } as unknown as vm.CompileFunctionOptions) as (specifier: string) => Promise<unknown>;
  return (await mainImport(H5WASM_NODE)) as H5wasm;
}

/**
 * import() kept as an import: TypeScript compiling to CommonJS would turn a literal `import()` into
 * require(), which h5wasm's exports (an `import` condition only) refuse.
 */
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

function isMissingImportCallback(err: unknown): boolean {
  return String((err as NodeJS.ErrnoException)?.code ?? '').startsWith('ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING');
}
