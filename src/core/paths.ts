/**
 * Where the package's own files are (configs/, checkpoints/, docs/, datasets/): found by walking up
 * from this module to the folder holding sr's package.json, so it holds for src/ run by ts-node and
 * for the compiled dist/ alike, wherever a module sits in the tree.
 */
import * as fs from 'fs';
import * as path from 'path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'sr') return (root = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`sr's package.json was not found above ${__dirname}`);
    dir = parent;
  }
}

/** A path inside the package: packagePath('configs', 'srcnn-x3.yaml'). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}
