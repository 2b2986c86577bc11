export * from './message-store';
export { tagHashOf, type RecordInput, type StoredRecord } from './record';
export type { RecoveryReport } from './commit-log';
export * from './state-file';
export { STORE_LIMITS } from './limits';
