/** Loading YAML configs, applying command-line overrides, and reporting problems by key name. */
import * as fs from 'fs';
import YAML from 'yaml';
import type { z } from 'zod';
import { SrError, UsageError } from '../core/errors';
import { getArchitecture, parseArchitectureOptions } from '../models';

export { srganConfigSchema, srganPhaseConfig, trainingConfigSchema } from './schema';
export type { GanOptions, SrganConfig, SrganPhase, TrainingConfig, TrainingConfigInput } from './schema';

export function readYaml(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === 'ENOENT' ? 'no such config file' : `cannot read (${code})`}`);
  }
  try {
    return YAML.parse(text) ?? {};
  } catch (err) {
    throw new UsageError(`${file}: invalid YAML (${(err as Error).message.split('\n')[0]})`);
  }
}

/** Sets `a.b.c` in a plain object, creating parents. */
export function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function describeIssue(issue: z.ZodIssue, source: string): string {
  const key = issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length ? `${issue.path.join('.')}.` : '';
    return `${source}: unknown key '${prefix}${issue.keys[0]}'`;
  }
  return `${source}: ${key}: ${issue.message}`;
}

/**
 * Validates a raw config object (file contents with overrides applied). `source` names where it
 * came from in messages. The model's own options are validated too.
 */
export function parseConfig<S extends z.ZodTypeAny>(schema: S, raw: unknown, source: string): z.infer<S> {
  const data = checkSchema(schema, raw, source);
  const config = data as { model?: string; network?: unknown };
  if (config.model) {
    const spec = getArchitecture(config.model);
    try {
      config.network = parseArchitectureOptions(spec, config.network);
    } catch (err) {
      throw new UsageError(`${source}: ${(err as Error).message}`);
    }
  }
  return data;
}

/**
 * Validates against a schema only, reporting one problem by key name: an unknown key first, since a
 * misspelt key (batchsize) is usually why a required one (batch_size) is missing.
 */
export function checkSchema<S extends z.ZodTypeAny>(schema: S, raw: unknown, source: string): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const { issues } = parsed.error;
    throw new UsageError(describeIssue(issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0], source));
  }
  return parsed.data;
}

export function requireDir(dir: string, what: string): void {
  if (!fs.existsSync(dir)) throw new SrError(`${what} folder ${dir} does not exist`);
  if (!fs.statSync(dir).isDirectory()) throw new SrError(`${what} ${dir} is not a folder`);
}
