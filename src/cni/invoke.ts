// Runs one CNI plugin binary for one command: environment per the spec, config on stdin,
// a timeout on every call, output bounded, and CNI error objects turned into CniPluginError.
import { basename } from 'node:path';
import { execa } from 'execa';
import { CniPluginError, type CniCommand } from './errors.js';

/** Results and error objects are small; a plugin printing more is broken or hostile. */
export const MAX_PLUGIN_OUTPUT_BYTES = 1 << 20;

export interface PluginInvocation {
  pluginPath: string;
  command: CniCommand;
  /** The JSON sent on stdin. */
  config: Record<string, unknown>;
  binDirs: readonly string[];
  timeoutMs: number;
  containerId?: string;
  /** Path of the network namespace; '' when it is gone (DEL still runs). */
  netns?: string;
  ifName?: string;
  /** CNI_ARGS pairs, joined as K=V;K=V. */
  args?: ReadonlyArray<readonly [string, string]>;
}

/**
 * Runs the plugin and returns its parsed stdout (null when it printed nothing, as DEL may).
 * Throws CniPluginError naming the plugin and command on any failure.
 */
export async function invokePlugin(call: PluginInvocation): Promise<unknown> {
  const plugin = basename(call.pluginPath);
  const env: Record<string, string> = {
    CNI_COMMAND: call.command,
    CNI_PATH: call.binDirs.join(':'),
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifName !== undefined) env.CNI_IFNAME = call.ifName;
  if (call.args && call.args.length > 0) env.CNI_ARGS = call.args.map(([k, v]) => `${k}=${v}`).join(';');

  const result = await execa(call.pluginPath, [], {
    input: JSON.stringify(call.config),
    env,
    extendEnv: false,
    timeout: call.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_PLUGIN_OUTPUT_BYTES,
    reject: false,
    stripFinalNewline: false,
  });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr.trim().slice(0, 2000) : '';
  if (result.timedOut) {
    throw new CniPluginError({ plugin, command: call.command, kind: 'DeadlineExceeded', cniMsg: `no answer within ${call.timeoutMs} ms` });
  }
  if (result.isMaxBuffer) {
    throw new CniPluginError({ plugin, command: call.command, cniMsg: `printed more than ${MAX_PLUGIN_OUTPUT_BYTES} bytes` });
  }
  if (result.exitCode !== 0 || result.failed) {
    const error = parseErrorObject(stdout);
    if (error) throw new CniPluginError({ plugin, command: call.command, ...error });
    const why = result.exitCode !== undefined ? `exited with ${result.exitCode}` : (result.signal ? `killed by ${result.signal}` : result.shortMessage);
    throw new CniPluginError({ plugin, command: call.command, cniMsg: `${why}${stderr ? `: ${stderr}` : ''}` });
  }
  if (stdout.trim() === '') return null;
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    throw new CniPluginError({ plugin, command: call.command, cniMsg: `printed output that is not JSON: ${JSON.stringify(stdout.slice(0, 200))}` });
  }
}

/** The spec's error object: {cniVersion, code, msg, details}. */
function parseErrorObject(stdout: string): { cniCode: number | null; cniMsg: string; cniDetails: string } | null {
  try {
    const doc = JSON.parse(stdout) as unknown;
    if (doc === null || typeof doc !== 'object') return null;
    const o = doc as Record<string, unknown>;
    if (typeof o.msg !== 'string' && typeof o.code !== 'number') return null;
    return {
      cniCode: typeof o.code === 'number' ? o.code : null,
      cniMsg: typeof o.msg === 'string' ? o.msg.slice(0, 4000) : '(no message)',
      cniDetails: typeof o.details === 'string' ? o.details.slice(0, 4000) : '',
    };
  } catch {
    return null;
  }
}
