export * from './config';
export * from './secret-file';
export * from './tls-options';
