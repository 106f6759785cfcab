// kubelet's plugin registration API (k8s.io/kubelet/pkg/apis/pluginregistration/v1/api.proto),
// written out as a protobufjs JSON descriptor: it is four small messages and one service, so
// carrying a copy of the .proto plus a build step would be more than the thing itself.
// Note the proto package is plain `pluginregistration` (upstream: "This should have been v1"),
// so the method paths are /pluginregistration.Registration/<Method>.
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '../proto-options.js';

/** What a plugin's registration socket says about it. */
export interface PluginInfo {
  /** "CSIPlugin" or "DevicePlugin". */
  type: string;
  name: string;
  /** Where the plugin itself serves (for CSI: its CSI socket path). */
  endpoint: string;
  supported_versions: string[];
}

/** kubelet's answer after trying to register a plugin. */
export interface RegistrationStatus {
  plugin_registered: boolean;
  error: string;
}

export const REGISTRATION_DESCRIPTOR: Record<string, unknown> = {
  nested: {
    pluginregistration: {
      nested: {
        PluginInfo: {
          fields: {
            type: { type: 'string', id: 1 },
            name: { type: 'string', id: 2 },
            endpoint: { type: 'string', id: 3 },
            supported_versions: { rule: 'repeated', type: 'string', id: 4 },
          },
        },
        RegistrationStatus: {
          fields: {
            plugin_registered: { type: 'bool', id: 1 },
            error: { type: 'string', id: 2 },
          },
        },
        RegistrationStatusResponse: { fields: {} },
        InfoRequest: { fields: {} },
        Registration: {
          methods: {
            GetInfo: { requestType: 'InfoRequest', responseType: 'PluginInfo' },
            NotifyRegistrationStatus: { requestType: 'RegistrationStatus', responseType: 'RegistrationStatusResponse' },
          },
        },
      },
    },
  },
};

let cached: grpc.ServiceClientConstructor | undefined;

/** The Registration service: a client constructor; `.service` is the server definition. */
export function registrationService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const loaded = grpc.loadPackageDefinition(fromJSON(REGISTRATION_DESCRIPTOR, LOADER_OPTIONS));
  cached = (loaded.pluginregistration as grpc.GrpcObject).Registration as grpc.ServiceClientConstructor;
  return cached;
}
