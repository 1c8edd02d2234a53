/**
 * Every shell command in README.md runs here, in the README's order, so a command that stops
 * working fails the tests. They run in a scratch folder laid out as the README assumes (the
 * project's configs/, a photo.png, folders of photos made from the shipped photographs), with
 * `npx sr` as the built bin/sr, and datasets in a scratch SR_DATA_DIR.
 *
 * Some commands run in a reduced but faithful form, each saying why (COMMAND_RULES): training stops
 * after 2 iterations, downloads come from a local server serving an archive laid out as upstream's.
 * `npm install` and `npm test` are what CI runs (.ci/run), so here it is only checked that CI still
 * runs them. A README command that no rule covers fails the test: adding one means saying here how
 * it is run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFile } from 'child_process';
import sharp from 'sharp';
import { BIN } from '../helpers/cli';
import { PROJECT_ROOT, SHARED_DIR, tempDir } from '../helpers/env';
import { makeZip } from '../data/archive-zip-writer';
import { startTestServer, type TestServer } from '../data/download-server';

interface Rule {
  pattern: RegExp;
  /**
   * 'ci': checked to be in .ci/run instead of run here. 'elsewhere': needs a service this test does
   * not start (Redis); checked to be exercised, with the same subcommand and flags, by `by`.
   */
  kind: 'run' | 'ci' | 'elsewhere';
  /** For 'elsewhere': the test file that runs the command against a real server. */
  by?: string;
  /** The reduced form, when the command is not run exactly as written. */
  reduce?: (command: string, server: TestServer) => string;
  why: string;
}

const COMMAND_RULES: Rule[] = [
  { pattern: /^npm install$/, kind: 'ci', why: 'CI installs with it (.ci/run)' },
  { pattern: /^npm test$/, kind: 'ci', why: 'CI runs it (.ci/run); this test is part of it' },
  {
    pattern: /^npx sr data download set5\b/,
    kind: 'run',
    reduce: (command, server) => `${command} --url ${server.url('/Set5_SR.zip')}`,
    why: 'the same archive layout, from a local server instead of the internet',
  },
  {
    pattern: /^npx sr train\b/,
    kind: 'run',
    reduce: (command) => `${command} --iterations 2`,
    why: '2 iterations instead of minutes; still validates and writes best/',
  },
  {
    pattern: /^npx sr (upscale .*--queue|worker|queue)\b/,
    kind: 'elsewhere',
    by: 'test/queue/queue.test.ts',
    why: 'needs Redis: the queue test starts a real redis-server and runs these with workers',
  },
  { pattern: /^npx sr (demo|info|upscale|eval)\b/, kind: 'run', why: 'as written' },
];

interface ReadmeCommand {
  /** The line as the README shows it, comment removed. */
  text: string;
  /** `a && b` split into its parts. */
  parts: string[];
}

/** The commands of README.md's ```sh blocks, one per line, trailing comments removed. */
function readmeCommands(markdown: string): ReadmeCommand[] {
  const blocks = [...markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const lines = blocks.flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n'));
  return lines
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((text) => ({ text, parts: text.split(/\s*&&\s*/) }));
}

function ruleFor(part: string): Rule {
  const rule = COMMAND_RULES.find((r) => r.pattern.test(part));
  if (!rule) throw new Error(`README command not covered by test/docs/readme.test.ts: ${part}`);
  return rule;
}

/** The shell line that runs a README command's parts here, or null when CI or another test covers all of them. */
function runnableLine(command: ReadmeCommand, server: TestServer): string | null {
  const parts = command.parts
    .map((part) => ({ part, rule: ruleFor(part) }))
    .filter(({ rule }) => rule.kind === 'run')
    .map(({ part, rule }) => (rule.reduce ? rule.reduce(part, server) : part));
  if (parts.length === 0) return null;
  // Paths into ../shared are relative to the project, and the commands run elsewhere.
  const line = parts.map((part) => part.replace(/^npx sr\b/, `"${process.execPath}" "${BIN}"`)).join(' && ');
  return line.replaceAll('../shared/', `${SHARED_DIR}/`);
}

function runShell(line: string, cwd: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', line],
      { cwd, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** Square crops of a shipped photograph as PNGs, so the README's folders hold real pictures. */
async function photoCrops(count: number, side: number): Promise<Buffer[]> {
  const source = path.join(PROJECT_ROOT, 'docs', 'samples', 'chelsea.png');
  const { width, height } = await sharp(source).metadata();
  const crops: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const left = Math.floor(((width! - side) * i) / Math.max(1, count - 1));
    const top = Math.floor(((height! - side) * (i % 3)) / 2);
    crops.push(await sharp(source).extract({ left, top, width: side, height: side }).png().toBuffer());
  }
  return crops;
}

async function writeFolder(dir: string, images: Buffer[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  images.forEach((png, i) => fs.writeFileSync(path.join(dir, `img${String(i + 1).padStart(2, '0')}.png`), png));
}

/** The folder the README's commands assume they run in. */
async function layOutWorkFolder(work: string): Promise<void> {
  fs.symlinkSync(path.join(PROJECT_ROOT, 'configs'), path.join(work, 'configs'));
  const [photo] = await photoCrops(1, 80);
  fs.writeFileSync(path.join(work, 'photo.png'), photo);
  await writeFolder(path.join(work, 'photos'), await photoCrops(2, 64));
  // Ten or more, so that training holds one out to validate (and writes best/).
  await writeFolder(path.join(work, 'my-photos'), await photoCrops(12, 48));
  await writeFolder(path.join(work, 'my-test-photos'), await photoCrops(2, 60));
}

/** Set5 as the SelfExSR release lays it out (x4 HR images in image_SRF_4/), with real pictures. */
async function set5Zip(): Promise<Buffer> {
  const crops = await photoCrops(5, 60);
  return makeZip([
    { name: 'Set5/image_SRF_4/' },
    ...crops.map((png, i) => ({ name: `Set5/image_SRF_4/img_00${i + 1}_SRF_4_HR.png`, data: png, method: 'store' as const })),
  ]);
}

const README = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
const COMMANDS = readmeCommands(README);

describe('README.md', () => {
  test('starts with the install-and-demo line and the test line', () => {
    expect(COMMANDS.slice(0, 2).map((c) => c.text)).toEqual(['npm install && npx sr demo', 'npm test']);
  });

  test('every command is covered by a rule here', () => {
    for (const command of COMMANDS) for (const part of command.parts) expect(() => ruleFor(part)).not.toThrow();
  });

  test('the commands CI runs for it are still in .ci/run', () => {
    const ci = fs.readFileSync(path.join(PROJECT_ROOT, '.ci', 'run'), 'utf8').split('\n');
    const ciParts = COMMANDS.flatMap((c) => c.parts).filter((part) => ruleFor(part).kind === 'ci');
    expect(ciParts.length).toBeGreaterThan(0);
    for (const part of ciParts) expect(ci.some((line) => line === part || line.startsWith(`${part} `))).toBe(true);
  });

  test('the commands that need a server are run, with their subcommand and flags, by the test named', () => {
    const parts = COMMANDS.flatMap((c) => c.parts).filter((part) => ruleFor(part).kind === 'elsewhere');
    expect(parts.length).toBeGreaterThan(0);
    for (const part of parts) {
      const source = fs.readFileSync(path.join(PROJECT_ROOT, ruleFor(part).by!), 'utf8');
      // The words after `npx sr`: the subcommand and every --flag must appear as arguments there.
      const words = part.replace(/^npx sr\s+/, '').split(/\s+/);
      const expected = [words[0], ...words.filter((w) => w.startsWith('--'))];
      for (const word of expected) expect(source).toContain(`'${word}'`);
    }
  });
});

describe('README.md commands, in order', () => {
  const work = tempDir('sr-readme-');
  const env = { SR_DATA_DIR: path.join(work, 'datasets'), NO_COLOR: '1', SR_BACKEND: process.env.SR_TEST_BACKEND ?? 'wasm' };
  let server: TestServer;

  beforeAll(async () => {
    await layOutWorkFolder(work);
    server = await startTestServer({ '/Set5_SR.zip': { body: await set5Zip() } });
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  for (const command of COMMANDS) {
    const needsShared = command.text.includes('../shared/');
    const run = needsShared && !fs.existsSync(SHARED_DIR) ? test.skip : test;
    run(`${command.text}${needsShared ? ' (needs ../shared)' : ''}`, async () => {
      const line = runnableLine(command, server);
      if (line === null) return;
      const result = await runShell(line, work, env);
      if (result.code !== 0) throw new Error(`exit ${result.code}: ${line}\n${result.output}`);
    });
  }
});
