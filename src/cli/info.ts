import type { CriClient } from '../client/cri.js';
import { VERSION_STRING } from './version.js';

export async function showVersion(client: CriClient): Promise<string> {
  const v = await client.runtime.call('Version', { version: 'v1' }, { timeoutMs: 10_000 });
  return [
    `Client version:      ${VERSION_STRING}`,
    `Runtime name:        ${v.runtime_name}`,
    `Runtime version:     ${v.runtime_version}`,
    `Runtime API version: ${v.runtime_api_version}`,
  ].join('\n');
}

export interface InfoReport {
  version: unknown;
  status: unknown;
  runtimeConfig: unknown;
}

export async function collectInfo(client: CriClient): Promise<InfoReport> {
  const opts = { timeoutMs: 10_000 };
  const [version, status, runtimeConfig] = await Promise.all([
    client.runtime.call('Version', { version: 'v1' }, opts),
    client.runtime.call('Status', { verbose: true }, opts),
    client.runtime.call('RuntimeConfig', {}, opts),
  ]);
  return { version, status, runtimeConfig };
}

export function formatInfo(report: InfoReport): string {
  const version = report.version as { runtime_name?: string; runtime_version?: string; runtime_api_version?: string };
  const status = report.status as {
    status?: { conditions?: { type?: string; status?: boolean; reason?: string; message?: string }[] };
    runtime_handlers?: { name?: string; features?: Record<string, boolean | null> | null }[];
    features?: Record<string, boolean | null> | null;
    info?: Record<string, string>;
  };
  const rc = report.runtimeConfig as { linux?: { cgroup_driver?: string } };
  const lines = [
    `Runtime:        ${version.runtime_name} ${version.runtime_version} (CRI ${version.runtime_api_version})`,
    `Cgroup driver:  ${rc.linux?.cgroup_driver?.toLowerCase() ?? 'unknown'}`,
    `Handlers:       ${(status.runtime_handlers ?? []).map((h) => h.name).join(', ') || 'none'}`,
    'Conditions:',
  ];
  for (const c of status.status?.conditions ?? []) {
    const detail = c.status ? '' : `  ${c.reason}: ${c.message}`;
    lines.push(`  ${c.type?.padEnd(14)} ${c.status ? 'true' : 'false'}${detail}`);
  }
  // What the runtime says works (StatusResponse.features and each handler's), as kubelet reads it.
  const flags = (f: Record<string, boolean | null> | null | undefined): string =>
    Object.entries(f ?? {}).map(([k, v]) => `${k}=${v === true}`).join(', ') || 'none reported';
  lines.push(`Features:       ${flags(status.features)}`);
  for (const h of status.runtime_handlers ?? []) lines.push(`  handler ${h.name}: ${flags(h.features)}`);
  const config = status.info?.config ? (JSON.parse(status.info.config) as { root?: string; state?: string }) : null;
  if (config) lines.push(`Root dir:       ${config.root}`, `State dir:      ${config.state}`);
  return lines.join('\n');
}
