/**
 * A training recipe: what `sr train NAME` trains and how, found by name like architectures are.
 * A recipe says how its config file reads (config/resolve.ts drives that through RecipeConfig) and
 * runs a resolved config; the loop, checkpoints and resume are run.ts's, the same for every recipe.
 */
import type { RecipeConfig } from '../../config/resolve';
import type { TrainRunOptions, TrainSummary } from '../run';

export interface TrainingRecipe {
  /** Registry name ('pixel', 'srgan'). */
  name: string;
  description: string;
  /** Whether `sr train NAME` means this recipe ('srgan'; any architecture for 'pixel'). */
  handles(command: string): boolean;
  /** How `sr train command` resolves its config. */
  config(command: string): RecipeConfig;
  /** Trains a resolved config. */
  train(options: TrainRunOptions): Promise<TrainSummary>;
}
