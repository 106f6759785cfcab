// The error stream's payload: a Kubernetes metav1.Status (v4+ of the channel protocols).

export interface ExitStatus {
  exitCode: number | null;
  /** Set when the process could not be run or was cut short by keelson. */
  error?: string;
}

export function statusJson(exit: ExitStatus): string {
  if (exit.error !== undefined) {
    return JSON.stringify({
      metadata: {}, status: 'Failure', message: `Internal error occurred: ${exit.error}`,
      reason: 'InternalError', details: { causes: [{ message: exit.error }] }, code: 500,
    });
  }
  if (exit.exitCode === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {}, status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command, exit code ${exit.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exit.exitCode) }] },
  });
}

/** v1-v3 error stream: plain text, nothing on success. */
export function statusText(exit: ExitStatus): string {
  if (exit.error !== undefined) return exit.error;
  return exit.exitCode === 0 ? '' : `command terminated with non-zero exit code: exit status ${exit.exitCode}`;
}
