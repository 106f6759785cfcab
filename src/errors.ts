// Domain errors. Services throw these; the CRI edge (src/cri/grpc-status.ts) is the one
// place that turns a kind into a gRPC status code. Domain code never imports gRPC
// (test/unit/layering.test.ts).

export type ErrorKind =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'ResourceExhausted'
  | 'DeadlineExceeded'
  | 'Unavailable'
  | 'Unimplemented'
  | 'Internal';

export class KeelsonError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = `${kind}Error`;
  }
}

export class InvalidArgumentError extends KeelsonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('InvalidArgument', message, options);
  }
}

export class NotFoundError extends KeelsonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NotFound', message, options);
  }
}

export class AlreadyExistsError extends KeelsonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AlreadyExists', message, options);
  }
}

export class FailedPreconditionError extends KeelsonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FailedPrecondition', message, options);
  }
}

export class UnimplementedError extends KeelsonError {
  constructor(message: string) {
    super('Unimplemented', message);
  }
}

/** A configuration file or flag that cannot be used; the message names the key. */
export class ConfigError extends KeelsonError {
  constructor(message: string) {
    super('InvalidArgument', message);
    this.name = 'ConfigError';
  }
}

/** The message of anything thrown, for logs and error texts. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
