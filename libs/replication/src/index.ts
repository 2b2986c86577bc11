export * from './replica-group';
export * from './election';
export * from './in-sync-set';
export * from './role-machine';
export { REPLICATION_LIMITS } from './limits';
