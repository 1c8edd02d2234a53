/** Looking at results: crops, labelled grids, the HTML report, `sr compare` and `sr demo`. */
export {
  checkCrop,
  cropToImage,
  largestWindow,
  squaredErrorMap,
  zoomNearest,
  DEFAULT_CROP_SIZE,
  DEFAULT_ZOOM,
  MAX_ZOOM,
  type CropRect,
} from './crop';
export { renderGrid, fontsAvailable, type Grid, type GridColumn } from './grid';
export { renderReportHtml, writeReport, type VisualReport, type ReportImage } from './html';
export { autoCrop, buildReportImage, EvalReportCollector, type MethodOutput } from './entry';
export { compareImages, type CompareOptions, type CompareResult } from './compare';
export { runDemo, DEFAULT_DEMO_DIR, type DemoOptions, type DemoResult } from './demo';
