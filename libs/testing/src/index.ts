export * from './eventually';
export * from './temp-dir';
export * from './app-process';
