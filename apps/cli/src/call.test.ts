import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { connectionProblem, describeCallError, isServiceError } from './call';

const target = { what: 'cannot create topic T', role: 'broker', address: '127.0.0.1:8081', timeoutMs: 5000 };

function serviceError(code: status, details: string, rmqCode?: string): ServiceError {
  const metadata = new Metadata();
  if (rmqCode) metadata.set('rmq-error-code', rmqCode);
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}

describe('describeCallError', () => {
  it("shows the server's text and its stable error code", () => {
    const error = serviceError(status.ALREADY_EXISTS, 'topic T already exists with different settings (8 queues)', 'TOPIC_EXISTS');
    expect(describeCallError(error, target)).toBe('cannot create topic T: topic T already exists with different settings (8 queues) [TOPIC_EXISTS]');
  });

  it('names the deadline and the option that changes it', () => {
    expect(describeCallError(serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 5.001s'), target)).toBe(
      'cannot create topic T: the broker at 127.0.0.1:8081 did not answer within 5000 ms (is it overloaded? raise --timeout-ms to wait longer)',
    );
  });

  it('turns a refused connection into a hint to start the stack', () => {
    const details = 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:8081. Resolution note: ';
    expect(describeCallError(serviceError(status.UNAVAILABLE, details), target)).toBe(
      'cannot create topic T: cannot reach the broker at 127.0.0.1:8081 (connect ECONNREFUSED 127.0.0.1:8081); is it running? `npm start` starts a local stack',
    );
  });

  it('says what to give when a TLS handshake fails', () => {
    const required = 'No connection established. Last error: 80CC6130FE7E0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116 (2026-12-07T11:35:58.981Z)';
    expect(describeCallError(serviceError(status.UNAVAILABLE, required), target)).toBe(
      'cannot create topic T: the TLS handshake with the broker at 127.0.0.1:8081 failed (certificate required); it asks for a client certificate: give --tls-cert-file and --tls-key-file',
    );
    const untrusted = 'No connection established. Last error: Error: self-signed certificate (2026-12-07T11:35:58.981Z)';
    expect(describeCallError(serviceError(status.UNAVAILABLE, untrusted), target)).toMatch(/failed \(self-signed certificate\); give --tls-ca-file/);
  });

  it('falls back to the gRPC status name, on one line', () => {
    expect(describeCallError(serviceError(status.INTERNAL, 'boom\n  at x'), target)).toBe('cannot create topic T: boom at x [INTERNAL]');
  });
});

describe('helpers', () => {
  it('keeps grpc-js connection details that do not follow the usual shape', () => {
    expect(connectionProblem('Name resolution failed for target dns:nohost:1')).toBe('Name resolution failed for target dns:nohost:1');
  });

  it('tells gRPC errors from other errors', () => {
    expect(isServiceError(serviceError(status.UNAVAILABLE, 'x'))).toBe(true);
    expect(isServiceError(new Error('x'))).toBe(false);
  });
});
