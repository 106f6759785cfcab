import { KeelsonError, type ErrorKind } from '../errors.js';

export type CniCommand = 'ADD' | 'CHECK' | 'DEL' | 'VERSION' | 'STATUS' | 'GC';

/**
 * A plugin call that failed. When the plugin printed a CNI error object, its code, msg and
 * details are kept and shown in the message, so they reach the gRPC status text.
 */
export class CniPluginError extends KeelsonError {
  readonly plugin: string;
  readonly command: CniCommand;
  readonly cniCode: number | null;
  readonly cniMsg: string;
  readonly cniDetails: string;

  constructor(fields: {
    plugin: string; command: CniCommand; cniCode?: number | null; cniMsg: string; cniDetails?: string;
    kind?: ErrorKind; cause?: unknown;
  }) {
    const code = fields.cniCode ?? null;
    const details = fields.cniDetails ?? '';
    const text = `CNI plugin ${fields.plugin} ${fields.command} failed` +
      (code !== null ? ` (code ${code})` : '') + `: ${fields.cniMsg}` + (details ? ` (details: ${details})` : '');
    super(fields.kind ?? 'Internal', text, { cause: fields.cause });
    this.name = 'CniPluginError';
    this.plugin = fields.plugin;
    this.command = fields.command;
    this.cniCode = code;
    this.cniMsg = fields.cniMsg;
    this.cniDetails = details;
  }
}
