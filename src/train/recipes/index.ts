/**
 * Training recipes by name: adding one is its file plus its line in RECIPES. `sr train NAME` takes
 * the first recipe that handles NAME: 'srgan' is a recipe of its own, an architecture name
 * ('srcnn', 'fsrcnn', 'srresnet') trains that network with the pixel recipe.
 */
import { UsageError } from '../../core/errors';
import type { RecipeConfig } from '../../config/resolve';
import { architectureNames } from '../../models';
import { pixelRecipe } from './pixel';
import type { TrainingRecipe } from './recipe';
import { srganRecipe } from './srgan';

export type { TrainingRecipe } from './recipe';

const RECIPES: readonly TrainingRecipe[] = [srganRecipe, pixelRecipe];

/** The recipe `sr train command` runs, and how it resolves its config. */
export function recipeFor(command: string): { recipe: TrainingRecipe; config: RecipeConfig } {
  const recipe = RECIPES.find((r) => r.handles(command));
  if (!recipe) {
    const known = [...RECIPES.filter((r) => r !== pixelRecipe).map((r) => r.name), ...architectureNames()];
    throw new UsageError(`cannot train '${command}' (known: ${known.join(', ')})`);
  }
  return { recipe, config: recipe.config(command) };
}

export function recipeNames(): string[] {
  return RECIPES.map((r) => r.name);
}
