export * from './logger';
export * from './http-server';
export * from './metrics';
export * from './lifecycle';
export * from './tracing';
export * from './tracing-plan';
