// The one place that maps our domain errors to what a client sees: an in-band
// apache.rocketmq.v2.Status for MessagingService, a gRPC status for our internal services.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { ERRORS, RmqError, type ErrorCode, type ErrorKind } from '@rmq/base';
import { Code, StatusSchema, type Status } from './gen/apache/rocketmq/v2/definition_pb';

const WIRE_CODE: Record<ErrorCode, Code> = {
  BAD_REQUEST: Code.BAD_REQUEST,
  ILLEGAL_TOPIC: Code.ILLEGAL_TOPIC,
  ILLEGAL_CONSUMER_GROUP: Code.ILLEGAL_CONSUMER_GROUP,
  ILLEGAL_MESSAGE_TAG: Code.ILLEGAL_MESSAGE_TAG,
  ILLEGAL_MESSAGE_KEY: Code.ILLEGAL_MESSAGE_KEY,
  ILLEGAL_MESSAGE_GROUP: Code.ILLEGAL_MESSAGE_GROUP,
  ILLEGAL_MESSAGE_PROPERTY: Code.ILLEGAL_MESSAGE_PROPERTY_KEY,
  ILLEGAL_MESSAGE_TYPE: Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
  ILLEGAL_INVISIBLE_TIME: Code.ILLEGAL_INVISIBLE_TIME,
  ILLEGAL_POLLING_TIME: Code.ILLEGAL_POLLING_TIME,
  ILLEGAL_FILTER_EXPRESSION: Code.ILLEGAL_FILTER_EXPRESSION,
  INVALID_RECEIPT_HANDLE: Code.INVALID_RECEIPT_HANDLE,
  ILLEGAL_DELIVERY_TIME: Code.ILLEGAL_DELIVERY_TIME,
  INVALID_RECALL_HANDLE: Code.BAD_REQUEST,
  UNKNOWN_BROKER_GROUP: Code.NOT_FOUND,
  ALREADY_DELIVERED: Code.PRECONDITION_FAILED,
  INVALID_TRANSACTION_ID: Code.INVALID_TRANSACTION_ID,
  ILLEGAL_OFFSET: Code.ILLEGAL_OFFSET,
  OFFSET_NOT_FOUND: Code.OFFSET_NOT_FOUND,
  TRANSACTION_ENDED: Code.PRECONDITION_FAILED,
  BODY_EMPTY: Code.MESSAGE_BODY_EMPTY,
  BODY_TOO_LARGE: Code.MESSAGE_BODY_TOO_LARGE,
  PROPERTIES_TOO_LARGE: Code.MESSAGE_PROPERTIES_TOO_LARGE,
  TOPIC_NOT_FOUND: Code.TOPIC_NOT_FOUND,
  CONSUMER_GROUP_NOT_FOUND: Code.CONSUMER_GROUP_NOT_FOUND,
  NOT_FOUND: Code.NOT_FOUND,
  TOPIC_EXISTS: Code.PRECONDITION_FAILED,
  NOT_MASTER: Code.HA_NOT_AVAILABLE,
  NO_MASTER: Code.HA_NOT_AVAILABLE,
  NOT_A_BROKER: Code.NOT_IMPLEMENTED,
  ROLE_SET_BY_CONTROLLER: Code.PRECONDITION_FAILED,
  NOT_LEADER: Code.HA_NOT_AVAILABLE,
  FENCED: Code.PRECONDITION_FAILED,
  CONTROLLER_STORE_UNAVAILABLE: Code.HA_NOT_AVAILABLE,
  BROKER_PERMISSION: Code.FORBIDDEN,
  STORE_FULL: Code.INTERNAL_SERVER_ERROR,
  STORE_CLOSED: Code.INTERNAL_SERVER_ERROR,
  STORE_UNAVAILABLE: Code.INTERNAL_SERVER_ERROR,
  STORE_DAMAGED: Code.INTERNAL_SERVER_ERROR,
  TOO_MANY_REQUESTS: Code.TOO_MANY_REQUESTS,
  IN_SYNC_REPLICAS_TOO_FEW: Code.HA_NOT_AVAILABLE,
  UNAUTHORIZED: Code.UNAUTHORIZED,
  FORBIDDEN: Code.FORBIDDEN,
  UNSUPPORTED: Code.UNSUPPORTED,
  NO_ROUTE: Code.NOT_FOUND,
  INTERNAL: Code.INTERNAL_ERROR,
  STATE_UNREADABLE: Code.INTERNAL_ERROR,
  CONSUMER_GROUP_EXISTS: Code.PRECONDITION_FAILED,
};

const GRPC_STATUS: Record<ErrorKind, grpc.status> = {
  badRequest: grpc.status.INVALID_ARGUMENT,
  notFound: grpc.status.NOT_FOUND,
  conflict: grpc.status.ALREADY_EXISTS,
  failedPrecondition: grpc.status.FAILED_PRECONDITION,
  resourceExhausted: grpc.status.RESOURCE_EXHAUSTED,
  tooManyRequests: grpc.status.RESOURCE_EXHAUSTED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permissionDenied: grpc.status.PERMISSION_DENIED,
  unavailable: grpc.status.UNAVAILABLE,
  unimplemented: grpc.status.UNIMPLEMENTED,
  internal: grpc.status.INTERNAL,
};

/** Metadata key of a NOT_LEADER error: the endpoint of the leading controller. */
export const CONTROLLER_LEADER_METADATA_KEY = 'rmq-controller-leader';

/** The leading controller's endpoint named by a NOT_LEADER error, if any. */
export function controllerLeaderOf(error: unknown): string | undefined {
  const value = (error as grpc.ServiceError | undefined)?.metadata?.get(CONTROLLER_LEADER_METADATA_KEY)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export type ErrorLogger = (message: string, fields: Record<string, unknown>) => void;

/**
 * Turns anything thrown into an RmqError a client may see. Unknown errors become INTERNAL with
 * a fresh error id; their stack goes to `log`, never to the client.
 */
export function toRmqError(error: unknown, log: ErrorLogger): RmqError {
  if (error instanceof RmqError) return error;
  const errorId = randomUUID();
  log('unexpected error', { errorId, error: error instanceof Error ? error.stack : String(error) });
  return new RmqError('INTERNAL', { errorId });
}

export function okStatus(message = 'OK'): Status {
  return { $typeName: 'apache.rocketmq.v2.Status', code: Code.OK, message }; // what create() makes, for every send and ack
}

export function statusOf(error: RmqError): Status {
  return create(StatusSchema, { code: WIRE_CODE[error.code], message: error.message });
}

export function wireCodeOf(code: ErrorCode): Code {
  return WIRE_CODE[code];
}

/** A grpc-js error object for our internal services; `rmq-error-code` carries the stable code. */
export function toServiceError(error: RmqError): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  metadata.set('rmq-error-code', error.code);
  // A controller that does not lead names the one that does, so the caller can go there.
  if (error.code === 'NOT_LEADER' && typeof error.params.leader === 'string' && error.params.leader !== '') {
    metadata.set(CONTROLLER_LEADER_METADATA_KEY, error.params.leader);
  }
  return { code: GRPC_STATUS[ERRORS[error.code].kind], details: error.message, metadata };
}

/** Reads back the stable code of an error raised by one of our internal services. */
export function errorCodeOf(error: unknown): string | undefined {
  const metadata = (error as grpc.ServiceError | undefined)?.metadata;
  const value = metadata?.get('rmq-error-code')[0];
  return typeof value === 'string' ? value : undefined;
}
