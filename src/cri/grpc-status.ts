import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { KeelsonError, messageOf, type ErrorKind } from '../errors.js';

// The one place where domain error kinds become gRPC status codes.
const CODES: Record<ErrorKind, status> = {
  InvalidArgument: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  FailedPrecondition: status.FAILED_PRECONDITION,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
  DeadlineExceeded: status.DEADLINE_EXCEEDED,
  Unavailable: status.UNAVAILABLE,
  Unimplemented: status.UNIMPLEMENTED,
  Internal: status.INTERNAL,
};

export function grpcCodeOf(err: unknown): status {
  return err instanceof KeelsonError ? CODES[err.kind] : status.UNKNOWN;
}

export function toServiceError(err: unknown): Partial<ServiceError> {
  return { code: grpcCodeOf(err), details: messageOf(err), metadata: new Metadata() };
}
