/**
 * Kernels that the tfjs wasm backend lacks, gets wrong, or runs far slower than it could, so that the
 * SRCNN and SRGAN models (with VGG19's perceptual loss) train there. On `wasm` (tfjs 4.22):
 *  - Conv2DBackpropFilter does not exist, so no conv layer can train;
 *  - Conv2DBackpropInput, DepthToSpace and Tile are generic loops far slower than the XNNPACK
 *    convolution, transpose and broadcast multiply they can be written with;
 *  - BatchMatMul with a transposed operand (every dense-layer gradient) misses the fast path;
 *  - MaxPoolGrad routes gradients to the wrong element for windows of negative values and for ties;
 *  - Sum and Mean over leading axes (every bias gradient, batch norm's moments) transpose and sum on
 *    one thread, where average pooling and a product with a row of ones are multithreaded;
 *  - Conv2D with one input channel gives XNNPACK one multiply per indirection pointer;
 *  - every convolution (Conv2D, FusedConv2D and those the gradients are written with) runs faster on
 *    ONNX Runtime's native kernels, when it loads (native_conv.ts).
 * On `cpu`, Conv2DBackpropFilter exists but is far slower than the same sum done as a forward
 * convolution (measurements: docs/performance.md, "Kernel and engine measurements").
 * And DepthToSpace has no gradient on any backend, and PReLU's is written with a comparison and two
 * selects that cost wasm several times the arithmetic giving the same values (prelu_grad.ts);
 * batch normalisation in training (FusedBatchNorm on wasm, its gradient and Mean's everywhere) makes
 * several activation-sized tensors more than its formulas need (batch_norm.ts).
 */
import { batchMatMulKernel } from './batch_mat_mul';
import { fusedBatchNormGradConfig, fusedBatchNormKernel, meanGradConfig } from './batch_norm';
import { conv2dKernel } from './conv2d';
import { fusedConv2dKernel } from './fused_conv2d';
import { conv2dBackpropFilterKernel } from './conv2d_backprop_filter';
import { conv2dBackpropInputKernel } from './conv2d_backprop_input';
import { depthToSpaceGradConfig, depthToSpaceKernel } from './depth_to_space';
import { maxPoolGradKernel } from './max_pool_grad';
import { preluGradConfig } from './prelu_grad';
import { KernelFactory, installGradient, installKernel, replaceGradient } from './registry';
import { meanKernel, sumKernel } from './sum';
import { tileKernel } from './tile';

/** Kernels replaced per backend; backends not listed keep their own (tfjs-node's native ones are fast). */
const KERNELS_BY_BACKEND: Record<string, KernelFactory[]> = {
  wasm: [
    conv2dBackpropInputKernel,
    conv2dBackpropFilterKernel,
    batchMatMulKernel,
    depthToSpaceKernel,
    tileKernel,
    maxPoolGradKernel,
    sumKernel,
    meanKernel,
    conv2dKernel,
    fusedConv2dKernel,
    fusedBatchNormKernel,
  ],
  cpu: [conv2dBackpropFilterKernel],
};

/** How a gradient appears in registerFastKernels's result, to tell it apart from a kernel of that name. */
export function gradientLabel(kernelName: string): string {
  return `${kernelName} (gradient)`;
}

/**
 * Registers this module's kernels for `backendName` and the gradients tfjs lacks. Safe to call again:
 * later calls change nothing and return the same list, the names of the kernels (and gradients, as
 * `gradientLabel(name)`) now provided by this module for that backend.
 */
export function registerFastKernels(backendName: string): string[] {
  const names: string[] = [];
  for (const factory of KERNELS_BY_BACKEND[backendName] ?? []) {
    installKernel(factory, backendName);
    names.push(factory.kernelName);
  }
  if (installGradient(depthToSpaceGradConfig)) names.push(gradientLabel(depthToSpaceGradConfig.kernelName));
  // Gradients are global: these apply on every backend, tfjs's own kernels included.
  for (const config of [preluGradConfig, fusedBatchNormGradConfig, meanGradConfig]) {
    replaceGradient(config);
    names.push(gradientLabel(config.kernelName));
  }
  return names;
}
