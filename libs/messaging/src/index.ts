export * from './topic-registry';
export * from './producer-service';
export * from './consumer-service';
export * from './consumption-store';
export * from './tag-filter';
export * from './receipt-handle';
export * from './message-properties';
export { MESSAGING_LIMITS } from './limits';
export * from './retry-policy';
