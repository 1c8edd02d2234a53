/**
 * The layers of src/, from the bottom up (docs/ARCHITECTURE.md draws them). A folder may import
 * folders of lower layers, and within a layer only the folders listed before it, so the folder
 * graph has no cycle by construction. `npm run lint` fails on any import that points the other way.
 */
const LAYERS = [
  ['core'], // errors, package paths, rng, atomic writes, fs helpers, terminal output
  ['image', 'runtime', 'models'], // pixels and colour; tfjs backend + kernels and the ONNX Runtime loader; architectures
  ['metrics', 'checkpoint'], // PSNR/SSIM/NIQE; checkpoint folders
  ['engines'], // graph folding, the ONNX export/cache/sessions: where a network runs
  ['data', 'losses', 'config', 'infer', 'train', 'report', 'queue'], // the features
  ['bench', 'cli'], // the apps: nothing imports them but bin/
];

const ORDER = LAYERS.flat();
const higherThan = (folder) => ORDER.slice(ORDER.indexOf(folder) + 1);

module.exports = {
  forbidden: [
    ...ORDER.filter((folder) => higherThan(folder).length > 0).map((folder) => ({
      name: `${folder}-imports-upward`,
      comment: `src/${folder} may import only folders below it in .dependency-cruiser.cjs's LAYERS`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: `^src/(${higherThan(folder).join('|')})/` },
    })),
    {
      name: 'no-circular',
      comment: 'modules import each other in a loop',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'commands-stand-alone',
      comment: 'a command imports cli/options, never another command or main.ts',
      severity: 'error',
      from: { path: '^src/cli/commands/', pathNot: '^src/cli/commands/index\\.ts$' },
      to: { path: '^src/cli/(main\\.ts|commands/)' },
    },
    {
      name: 'apps-are-leaves',
      comment: 'nothing imports the apps (cli, bench) but bin/ and themselves',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|bench)/' },
      to: { path: '^src/(cli|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
