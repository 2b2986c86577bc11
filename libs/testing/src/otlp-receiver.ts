// A small OTLP/HTTP trace receiver for tests: POST /v1/traces in protobuf or JSON, kept in
// memory as plain spans. It decodes only the fields tests look at (ids, parent, name, kind,
// attributes, links, service name), with OTLP's field numbers from opentelemetry-proto.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export type SpanKindName = 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
const KINDS: SpanKindName[] = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

export interface ReceivedSpan {
  serviceName: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: SpanKindName;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  startTimeUnixNano: bigint;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:40123 */
  endpoint: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

const BODY_BYTES_MAX = 16 * 1024 * 1024;

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((request, response) => {
    readBody(request).then(
      (body) => {
        if (request.method !== 'POST' || request.url !== '/v1/traces') {
          response.writeHead(404).end();
          return;
        }
        const json = (request.headers['content-type'] ?? '').includes('json');
        spans.push(...(json ? spansFromJson(JSON.parse(body.toString('utf8'))) : spansFromProtobuf(body)));
        response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
        response.end(json ? '{}' : Buffer.alloc(0));
      },
      (error: Error) => response.writeHead(400).end(error.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_BYTES_MAX) request.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Calls `onField` for each field of one message; the callback reads the value or the field is skipped. */
function eachField(bytes: Uint8Array, onField: (fieldNo: number, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (!onField(fieldNo, reader)) reader.skip(wireType as WireType, fieldNo);
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function spansFromProtobuf(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  eachField(body, (field, reader) => {
    if (field !== 1) return false; // ExportTraceServiceRequest.resource_spans
    let serviceName = '';
    const raw: Uint8Array[] = [];
    eachField(reader.bytes(), (f, r) => {
      if (f === 1) serviceName = String(attributesOf(r.bytes(), 1)['service.name'] ?? ''); // ResourceSpans.resource
      else if (f === 2) eachField(r.bytes(), (g, s) => (g === 2 ? (raw.push(s.bytes()), true) : false)); // ScopeSpans.spans
      else return false;
      return true;
    });
    spans.push(...raw.map((bytes) => spanFromProtobuf(bytes, serviceName)));
    return true;
  });
  return spans;
}

function spanFromProtobuf(bytes: Uint8Array, serviceName: string): ReceivedSpan {
  const span: ReceivedSpan = { serviceName, traceId: '', spanId: '', parentSpanId: '', name: '', kind: 'UNSPECIFIED', attributes: {}, links: [], startTimeUnixNano: 0n };
  eachField(bytes, (field, reader) => {
    switch (field) {
      case 1: span.traceId = hex(reader.bytes()); return true;
      case 2: span.spanId = hex(reader.bytes()); return true;
      case 4: span.parentSpanId = hex(reader.bytes()); return true;
      case 5: span.name = reader.string(); return true;
      case 6: span.kind = KINDS[reader.int32()] ?? 'UNSPECIFIED'; return true;
      case 7: span.startTimeUnixNano = BigInt(reader.fixed64()); return true;
      case 9: Object.assign(span.attributes, keyValueOf(reader.bytes())); return true;
      case 13: {
        const link = { traceId: '', spanId: '' };
        eachField(reader.bytes(), (f, r) => {
          if (f === 1) link.traceId = hex(r.bytes());
          else if (f === 2) link.spanId = hex(r.bytes());
          else return false;
          return true;
        });
        span.links.push(link);
        return true;
      }
      default: return false;
    }
  });
  return span;
}

/** The attributes (repeated KeyValue at `field`) of a message such as Resource. */
function attributesOf(bytes: Uint8Array, field: number): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean> = {};
  eachField(bytes, (f, reader) => (f === field ? (Object.assign(attributes, keyValueOf(reader.bytes())), true) : false));
  return attributes;
}

function keyValueOf(bytes: Uint8Array): Record<string, string | number | boolean> {
  let key = '';
  let value: string | number | boolean = '';
  eachField(bytes, (field, reader) => {
    if (field === 1) key = reader.string();
    else if (field === 2) {
      eachField(reader.bytes(), (f, r) => {
        if (f === 1) value = r.string();
        else if (f === 2) value = r.bool();
        else if (f === 3) value = Number(r.int64());
        else if (f === 4) value = r.double();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return { [key]: value };
}

interface JsonAnyValue { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number }
interface JsonKeyValue { key: string; value: JsonAnyValue }
interface JsonSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number; startTimeUnixNano?: string;
  attributes?: JsonKeyValue[]; links?: { traceId: string; spanId: string }[];
}
interface JsonRequest { resourceSpans?: { resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[] }

function spansFromJson(request: JsonRequest): ReceivedSpan[] {
  const jsonValue = (value: JsonAnyValue) => value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.doubleValue ?? '');
  const attributes = (list: JsonKeyValue[] = []) => Object.fromEntries(list.map((kv) => [kv.key, jsonValue(kv.value)]));
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const serviceName = String(attributes(resourceSpans.resource?.attributes)['service.name'] ?? '');
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) => (scope.spans ?? []).map((span) => ({
      serviceName,
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId ?? '',
      name: span.name,
      kind: KINDS[span.kind ?? 0] ?? 'UNSPECIFIED',
      attributes: attributes(span.attributes),
      links: (span.links ?? []).map((link) => ({ traceId: link.traceId, spanId: link.spanId })),
      startTimeUnixNano: BigInt(span.startTimeUnixNano ?? 0),
    })));
  });
}
