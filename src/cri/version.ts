import { CRI_API_VERSION, KEELSON_VERSION } from '../version.js';
import type { VersionResponse } from './generated/cri-types.js';

export const RUNTIME_NAME = 'keelson';

export async function version(): Promise<VersionResponse> {
  // `version` is the kubelet runtime API version, kept at 0.1.0 as containerd and CRI-O do.
  return {
    version: '0.1.0',
    runtime_name: RUNTIME_NAME,
    runtime_version: KEELSON_VERSION,
    runtime_api_version: CRI_API_VERSION,
  };
}
