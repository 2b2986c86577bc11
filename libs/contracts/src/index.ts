export * from './grpc-adapter';
export * from './status';
export * from './handlers';
export * as v2 from './v2';
export * as namesrv from './gen/rmq/namesrv/v1/namesrv_pb';
export * as admin from './gen/rmq/admin/v1/admin_pb';
export * as controller from './gen/rmq/controller/v1/controller_pb';
export { create, toBinary, fromBinary, toJson } from '@bufbuild/protobuf';
export { timestampFromMs, timestampMs, durationFromMs, durationMs } from './wkt';
