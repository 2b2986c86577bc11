export * from './eventually';
export * from './temp-dir';
export * from './app-process';
export * from './name-server-fixtures';
export * from './prometheus-text';
export * from './two-broker-cluster';
export * from './official-client';
export * from './otlp-receiver';
