/**
 * The library behind the `sr` command: every CLI command is a thin layer over these functions.
 */
export { initBackend, shutdownBackend, backendInfo, type BackendInfo, type BackendOptions } from './backend';
export { SrError, UsageError } from './errors';
export { readImage, writeImage, encodeImage, type Image } from './image/io';
export { imageToTensor, splitImage, tensorsToImage, quantize, quantizeUnit } from './image/tensor';
export { imresize, modcrop, axisPlan, type ResizeKernel } from './image/resize';
export { rgbToYcbcr, ycbcrToRgb, luma } from './image/color';
export { score, scoreBatch, psnrBatch, ssimBatch, meanScore, type Score, type MetricChannel } from './metrics';
export { evaluate, degrade, type EvalResult } from './metrics/evaluate';
export {
  loadUpscaler,
  upscaleImage,
  upscaleAlphaWithModel,
  interpolationUpscaler,
  modelUpscaler,
  ENGINE_CHOICES,
  type Upscaler,
  type AlphaMode,
  type EngineChoice,
  type EngineInfo,
} from './infer';
export { exportModel, exportOnnx, onnxRuntimeStatus, type ExportResult } from './onnx';
export { tiledUpscaler, type TileOptions } from './infer/tile';
export {
  compareImages,
  runDemo,
  renderGrid,
  renderReportHtml,
  writeReport,
  buildReportImage,
  EvalReportCollector,
  largestWindow,
  cropToImage,
  zoomNearest,
  type CropRect,
  type VisualReport,
  type CompareResult,
  type DemoResult,
} from './report';
export { getModel, modelNames, registerModel, type ModelSpec } from './models';
export { trainSupervised, trainStep, type TrainEvent, type TrainSummary } from './train/supervised';
export { saveCheckpoint, loadCheckpoint, type CheckpointMeta } from './train/checkpoint';
export { parseConfig, supervisedConfigSchema, type SupervisedConfig } from './config';
export { resolveDataset, listImages, DATASETS } from './data/datasets';
export { loadTrainingSet } from './data/training-set';
export { PatchSampler } from './data/patches';
export { downloadFile } from './data/download';
export { extractZip } from './data/archive';
