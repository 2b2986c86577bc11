export * from './logger';
export * from './http-server';
export * from './metrics';
export * from './lifecycle';
