export { Producer, type Message, type ProducerOptions, type SendReceipt } from './producer';
export { SimpleConsumer, type ReceivedMessage, type SimpleConsumerOptions } from './simple-consumer';
export { ClientError } from './client-error';
export { ZONE_HEADER } from './connections';
export { CLIENT_LIMITS } from './limits';
