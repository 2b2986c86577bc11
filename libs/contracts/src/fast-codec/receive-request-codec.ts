// apache.rocketmq.v2.ReceiveMessageRequest decoded by hand: one pass over the bytes into exactly
// the objects @bufbuild/protobuf's fromBinary makes (same fields, zero values, $unknown, nested
// messages merged when repeated), which the generated reflection-driven reader took 6-12 µs per
// call to build (docs/performance.md, wave 8). rpc-codecs.test.ts checks it against the generated code.
import type { UnknownField } from '@bufbuild/protobuf';
import type { Address, Broker, Endpoints, FilterExpression, MessageQueue } from '../gen/apache/rocketmq/v2/definition_pb';
import type { ReceiveMessageRequest } from '../gen/apache/rocketmq/v2/service_pb';
import { decodeDuration, decodeResource } from './message-codec';
import { WIRE_LENGTH_DELIMITED, WireReader } from './wire';

function withUnknown(message: { $unknown?: UnknownField[] }, field: UnknownField): void {
  (message.$unknown ??= []).push(field);
}

function decodeAddress(r: WireReader, end: number): Address {
  const m: Address = { $typeName: 'apache.rocketmq.v2.Address', host: '', port: 0 };
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.host = r.string();
    else if (r.fieldNo === 2) m.port = r.int32();
    else withUnknown(m, r.unknown());
  }
  return m;
}

function decodeEndpoints(r: WireReader, end: number, into: Endpoints | undefined): Endpoints {
  const m: Endpoints = into ?? { $typeName: 'apache.rocketmq.v2.Endpoints', scheme: 0, addresses: [] };
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.scheme = r.int32();
    else if (r.fieldNo === 2) m.addresses.push(decodeAddress(r, r.nestedEnd()));
    else withUnknown(m, r.unknown());
  }
  return m;
}

function decodeBroker(r: WireReader, end: number, into: Broker | undefined): Broker {
  const m: Broker = into ?? { $typeName: 'apache.rocketmq.v2.Broker', name: '', id: 0 };
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.name = r.string();
    else if (r.fieldNo === 2) m.id = r.int32();
    else if (r.fieldNo === 3) m.endpoints = decodeEndpoints(r, r.nestedEnd(), m.endpoints);
    else withUnknown(m, r.unknown());
  }
  return m;
}

function decodeMessageQueue(r: WireReader, end: number, into: MessageQueue | undefined): MessageQueue {
  const m: MessageQueue = into ?? { $typeName: 'apache.rocketmq.v2.MessageQueue', id: 0, permission: 0, acceptMessageTypes: [] };
  while (r.pos < end) {
    r.tag();
    switch (r.fieldNo) {
      case 1: m.topic = decodeResource(r, r.nestedEnd(), m.topic); break;
      case 2: m.id = r.int32(); break;
      case 3: m.permission = r.int32(); break;
      case 4: m.broker = decodeBroker(r, r.nestedEnd(), m.broker); break;
      case 5: {
        // A repeated enum comes packed (one length-delimited run) or one value per field.
        if (r.wireType !== WIRE_LENGTH_DELIMITED) {
          m.acceptMessageTypes.push(r.int32());
          break;
        }
        const packedEnd = r.nestedEnd();
        while (r.pos < packedEnd) m.acceptMessageTypes.push(r.int32());
        break;
      }
      default: withUnknown(m, r.unknown());
    }
  }
  return m;
}

function decodeFilterExpression(r: WireReader, end: number, into: FilterExpression | undefined): FilterExpression {
  const m: FilterExpression = into ?? { $typeName: 'apache.rocketmq.v2.FilterExpression', type: 0, expression: '' };
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.type = r.int32();
    else if (r.fieldNo === 2) m.expression = r.string();
    else withUnknown(m, r.unknown());
  }
  return m;
}

export function decodeReceiveMessageRequest(bytes: Buffer): ReceiveMessageRequest {
  const r = new WireReader(bytes);
  const m: ReceiveMessageRequest = { $typeName: 'apache.rocketmq.v2.ReceiveMessageRequest', batchSize: 0, autoRenew: false };
  while (r.pos < bytes.length) {
    r.tag();
    switch (r.fieldNo) {
      case 1: m.group = decodeResource(r, r.nestedEnd(), m.group); break;
      case 2: m.messageQueue = decodeMessageQueue(r, r.nestedEnd(), m.messageQueue); break;
      case 3: m.filterExpression = decodeFilterExpression(r, r.nestedEnd(), m.filterExpression); break;
      case 4: m.batchSize = r.int32(); break;
      case 5: m.invisibleDuration = decodeDuration(r, r.nestedEnd(), m.invisibleDuration); break;
      case 6: m.autoRenew = r.bool(); break;
      case 7: m.longPollingTimeout = decodeDuration(r, r.nestedEnd(), m.longPollingTimeout); break;
      case 8: m.attemptId = r.string(); break;
      default: withUnknown(m, r.unknown());
    }
  }
  return m;
}
