export { Producer, type Message, type ProducerOptions, type SendReceipt } from './producer';
export { SimpleConsumer, type SimpleConsumerOptions } from './simple-consumer';
export { PushConsumer, type ConsumeResult, type PushConsumerOptions } from './push-consumer';
export type { ReceivedMessage } from './received-message';
export { ClientError } from './client-error';
export { ZONE_HEADER } from './connections';
export { CLIENT_LIMITS } from './limits';
export { ControllerClient, type ControllerClientOptions, type ControllerServiceClient } from './controller-client';
