export * from './broker-registration';
export * from './topic-route';
export * from './limits';
export * from './registration-problem';
export * from './route-registry';
export * from './queue-assignment';
export * from './group-membership';
