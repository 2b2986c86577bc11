// apache.rocketmq.v2 under one name.
export * from './gen/apache/rocketmq/v2/definition_pb';
export * from './gen/apache/rocketmq/v2/service_pb';
