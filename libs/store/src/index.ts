export * from './message-store';
export { encodeRecord, propertyMap, propertyOf, readU64, tagHashOf, writeU64, type PropertyList, type RecordInput, type RecordProperties } from './record';
export { decodeRecord, PropertyCursor, StoredRecord } from './record-view';
export type { RecoveryReport, SegmentInfo } from './commit-log';
export * from './state-file';
export { STORE_LIMITS } from './limits';
export { MessageIndex, indexKeysOf, IndexKeys, type IndexedProperties, type IndexLocation, type KeyQuery } from './message-index';
export {
  decideRetention,
  diskUsageOf,
  usedRatioOf,
  type DiskUsage,
  type RetentionDecision,
  type RetentionEvent,
  type RetentionInput,
  type RetentionPolicy,
  type RetentionReason,
  type RetentionStats,
} from './retention';
export type { ScanReport } from './log-scan';
export { EpochFile, truncationPoint, type EpochEntry } from './epoch-file';
export { placeRecord } from './commit-log';
export type { CommitPolicy } from './commit-tracker';
export type { LogStretch, StretchUse } from './log-reader';
export type { QueueEntry } from './consume-queue';
export { faultyFileIo, gatedFileIo, isTransientIoError, nodeFileIo, type FileIo, type FileOperation, type GatedFileIo } from './file-io';
