/**
 * Upscaling and evaluating over a BullMQ job queue on Redis, with workers on any number of
 * machines that see the same storage. Only the CLI imports this folder.
 */
export { parseQueueUrl, displayUrl } from './connection';
export { identifyModel, type ModelIdentity } from './model';
export { upscaleFile, type Written, type FileOptions } from './upscale-file';
export { upscaleOverQueue, type FolderResult, type PlannedFile, type UpscaleJobOptions } from './upscale';
export { scoreOverQueue } from './eval';
export { runWorker, type WorkerSummary } from './worker';
export { queueStatus, type QueueStatus } from './status';
