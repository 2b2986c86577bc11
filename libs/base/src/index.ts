export * from './assert';
export * from './error-catalogue';
export * from './rmq-error';
export * from './time';
export * from './names';
export * from './hash';
export * from './siphash';
export * from './request-signature';
