// The proto-loader options of every descriptor keelson loads (CRI in src/cri, CSI and plugin
// registration in src/csi), so that all of them, and the types generated from them, agree.
import type { Options } from '@grpc/proto-loader';

/** How messages appear in JS: snake_case names, enums and 64-bit numbers as strings. */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};
