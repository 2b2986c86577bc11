// The slave's reading of shipped log bytes: every field it places a record by is the one the
// full decoder reads, index keys come only from the two indexed properties (wherever they are
// among the others), and a stretch with a blank moves to the next segment.
import { BLANK_RECORD_BYTES_MIN, encodeBlank, encodeRecord, encodedSizeBytes, type RecordInput } from './record';
import { decodeRecord } from './record-view';
import { indexKeysOf, type IndexKeys } from './message-index';
import { parseShippedRecords } from './shipped-records';

const SEGMENT_BYTES = 4096;
const names = { messageId: 'UNIQ_KEY', keys: 'KEYS' };

function input(index: number, properties: [string, string][]): RecordInput {
  return { topic: index % 2 === 0 ? 'orders' : 'tópico-ü', queueId: index % 3, tagHash: 1000 + index, flags: index, bornTimestampMs: 1_700_000_000_000 + index, properties: new Map(properties), body: Buffer.from(`body-${index}-${'x'.repeat(index * 13)}`) };
}

/** Records laid out as a log from `from`, with their placement, as one buffer. */
function stretch(inputs: RecordInput[], from: number): Buffer {
  let logOffset = from;
  return Buffer.concat(inputs.map((record, index) => {
    const bytes = encodeRecord(record, { logOffset, queueOffset: 10 + index, storeTimestampMs: 1_700_000_001_000 + index });
    logOffset += bytes.length;
    return bytes;
  }));
}

describe('parseShippedRecords', () => {
  const inputs = [
    input(0, [['UNIQ_KEY', 'id-0'], ['KEYS', '["a","b"]']]),
    input(1, [['TAGS', 'x'], ['KEYS', 'one key'], ['OTHER', 'UNIQ_KEY']]),
    input(2, []),
    input(3, [['UNIQ', 'not it'], ['UNIQ_KEYS', 'nor this'], ['UNIQ_KEY', 'id-3']]),
    input(4, [['KEYS', '']]),
  ];

  it('reads the fields and index keys the full decoder reads', () => {
    const bytes = stretch(inputs, 100);
    const { records, endLogOffset } = parseShippedRecords(bytes, 100, SEGMENT_BYTES, names);
    expect(endLogOffset).toBe(100 + bytes.length);
    expect(records).toHaveLength(inputs.length);
    for (const record of records) {
      const full = decodeRecord(bytes.subarray(record.at, record.at + record.sizeBytes));
      const { logOffset, sizeBytes, queueOffset, storeTimestampMs, queueId, tagHash, topic } = full;
      expect(record).toEqual({ at: record.at, logOffset, sizeBytes, queueOffset, storeTimestampMs, queueId, tagHash, topic, indexKeys: indexKeysOf(full.properties, names) });
    }
    const keysOnly = (keys: IndexKeys | undefined) => keys && { messageId: keys.messageId, keys: keys.keys };
    expect(records.map((record) => keysOnly(record.indexKeys))).toEqual([{ messageId: 'id-0', keys: ['a', 'b'] }, { messageId: undefined, keys: ['one key'] }, undefined, { messageId: 'id-3', keys: undefined }, undefined]);
  });

  it('reads no index keys when the store does not index', () => {
    const { records } = parseShippedRecords(stretch(inputs, 0), 0, SEGMENT_BYTES);
    expect(records.map((record) => record.indexKeys)).toEqual(inputs.map(() => undefined));
  });

  it('goes on in the next segment after a blank, and refuses a blank that does not end its segment', () => {
    const from = SEGMENT_BYTES - encodedSizeBytes(inputs[0]) - 64;
    const first = stretch([inputs[0]], from);
    const second = stretch([inputs[1]], SEGMENT_BYTES);
    const tail = 64;
    const { records, endLogOffset } = parseShippedRecords(Buffer.concat([first, encodeBlank(tail), second]), from, SEGMENT_BYTES, names);
    expect(records.map((record) => [record.logOffset, record.at])).toEqual([[from, 0], [SEGMENT_BYTES, first.length + BLANK_RECORD_BYTES_MIN]]);
    expect(endLogOffset).toBe(SEGMENT_BYTES + second.length);
    expect(() => parseShippedRecords(Buffer.concat([first, encodeBlank(tail - 1)]), from, SEGMENT_BYTES)).toThrow(/does not end its segment/);
  });
});
