import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { ConfigError, messageOf } from '../errors.js';
import { fieldPath } from '../field-path.js';
import { defaultConfig, socketIn } from './defaults.js';
import { configSchema, type Config, type ConfigFile } from './schema.js';

const ajv = new Ajv({ allErrors: true, strict: true });
const validateFile = ajv.compile<ConfigFile>(configSchema);

/** Settings given on the command line; they win over the file. */
export interface ConfigOverrides {
  root?: string;
  state?: string;
  socket?: string;
  log_level?: string;
}

export interface LoadConfigOptions {
  /** Path of the TOML file. A missing file is an error only when `required`. */
  path: string;
  required: boolean;
  overrides?: ConfigOverrides;
}

export async function loadConfig(opts: LoadConfigOptions): Promise<Config> {
  let text: string | undefined;
  try {
    text = await readFile(opts.path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing || opts.required) {
      throw new ConfigError(`config ${opts.path}: cannot read: ${messageOf(err)}`);
    }
  }
  let fromFile: unknown = {};
  if (text !== undefined) {
    try {
      fromFile = parseToml(text);
    } catch (err) {
      throw new ConfigError(`config ${opts.path}: not valid TOML: ${messageOf(err)}`);
    }
  }
  return resolveConfig(fromFile, opts.overrides ?? {}, opts.path);
}

/** Validates a parsed file plus overrides and fills in defaults. */
export function resolveConfig(fromFile: unknown, overrides: ConfigOverrides, source: string): Config {
  checkAgainstSchema(fromFile, source);
  const flagSource = 'command line';
  const flags = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  checkAgainstSchema(flags, flagSource);

  const file = fromFile as ConfigFile;
  const merged = mergeDeep(defaultConfig(), file) as Config;
  Object.assign(merged, flags);
  // The socket follows the state dir unless it was set explicitly.
  if (file.socket === undefined && overrides.socket === undefined) {
    merged.socket = socketIn(merged.state);
  }
  // So does the CSI registration dir follow the root dir.
  if (file.csi?.registration_dir === undefined) merged.csi.registration_dir = join(merged.root, 'plugins_registry');
  if (!(merged.runtime.default_handler in merged.runtime.handlers)) {
    throw new ConfigError(
      `config ${source}: runtime.default_handler "${merged.runtime.default_handler}" is not one of ` +
        `runtime.handlers (${Object.keys(merged.runtime.handlers).join(', ')})`,
    );
  }
  return merged;
}

function checkAgainstSchema(value: unknown, source: string): void {
  if (validateFile(value)) return;
  const problems = (validateFile.errors ?? []).map(describeSchemaError);
  throw new ConfigError(`config ${source}: ${[...new Set(problems)].join('; ')}`);
}

function describeSchemaError(e: ErrorObject): string {
  const key = fieldPath(e.instancePath);
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty: string }).additionalProperty);
    return `unknown key "${key ? `${key}.${extra}` : extra}"`;
  }
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
    return `key "${key}" must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (e.keyword === 'pattern' && (e.params as { pattern: string }).pattern === '^/') {
    return `key "${key}" must be an absolute path`;
  }
  return `key "${key || '(top level)'}" ${e.message ?? 'is invalid'}`;
}

function mergeDeep(base: object, over: object): object {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    const bothObjects =
      v !== null && typeof v === 'object' && !Array.isArray(v) &&
      prev !== null && typeof prev === 'object' && !Array.isArray(prev);
    out[k] = bothObjects ? mergeDeep(prev as object, v as object) : v;
  }
  return out;
}

/** The defaults as a TOML document, for `keelson config default`. */
export function defaultConfigToml(): string {
  return stringifyToml(defaultConfig());
}
