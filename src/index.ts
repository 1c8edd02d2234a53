/**
 * The library behind the `sr` command: every CLI command is a thin layer over these functions.
 */
export { initBackend, shutdownBackend, backendInfo, type BackendInfo, type BackendOptions } from './runtime/tfjs';
export { SrError, UsageError } from './core/errors';
export { readImage, writeImage, encodeImage, type Image } from './image/io';
export { imageToTensor, splitImage, tensorsToImage, quantize, quantizeUnit } from './image/tensor';
export { imresize, modcrop, axisPlan, type ResizeKernel } from './image/resize';
export { rgbToYcbcr, ycbcrToRgb, luma } from './image/color';
export {
  score,
  scoreBatch,
  psnrBatch,
  ssimBatch,
  meanScore,
  niqeOfImage,
  niqeOfLuma,
  METRICS,
  type Score,
  type MetricScores,
  type MetricName,
  type MetricChannel,
} from './metrics';
export { evaluate, degrade, type EvalResult } from './infer/evaluate';
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
export { exportModel, exportOnnx, onnxRuntimeStatus, type ExportResult } from './infer/export';
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
export {
  getArchitecture,
  architectureNames,
  registerArchitecture,
  describeNetwork,
  type ArchitectureSpec,
  type NetworkDescription,
} from './models';
export { trainSupervised, trainStep, type TrainEvent, type TrainSummary } from './train/recipes/pixel';
export { saveCheckpoint, loadCheckpoint, type CheckpointMeta } from './checkpoint';
export { parseConfig, trainingConfigSchema, type TrainingConfig } from './config';
export { resolveTrainingConfig, type RecipeConfig, type TrainOverrides } from './config/resolve';
export { recipeFor, recipeNames, type TrainingRecipe } from './train/recipes';
export { OnnxTrainer, type OnnxTrainerOptions } from './engines/onnx/training';
export { resolveDataset, listImages, DATASETS } from './data/datasets';
export { loadTrainingSet } from './data/training-set';
export { PatchSampler } from './data/patches';
export { downloadFile } from './data/download';
export { extractZip } from './data/archive';
