// widenReceiveWindows: a client of the server learns the wider stream window from the server's
// settings and the wider connection window from its window update.
import * as http2 from 'node:http2';
import { eventually } from '../test/eventually';
import { createGrpcServer, widenReceiveWindows } from './grpc-server';
import { listen } from './grpc-adapter';

const WINDOW = 3 * 1024 * 1024;

function windowsSeen(port: number): Promise<{ session: http2.ClientHttp2Session }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once('error', reject);
    session.once('remoteSettings', () => resolve({ session }));
  });
}

describe('widenReceiveWindows', () => {
  test('clients may send a stream and a connection that many bytes before any window update', async () => {
    const server = createGrpcServer();
    const port = await listen(server, '127.0.0.1', 0);
    try {
      expect(widenReceiveWindows(server, WINDOW)).toBe(true);
      const { session } = await windowsSeen(port);
      try {
        expect(session.remoteSettings.initialWindowSize).toBe(WINDOW);
        await eventually(() => expect(session.state.remoteWindowSize).toBe(WINDOW));
      } finally {
        session.destroy();
      }
    } finally {
      server.forceShutdown();
    }
  });

  test('without it, node\'s 64 KiB windows', async () => {
    const server = createGrpcServer();
    const port = await listen(server, '127.0.0.1', 0);
    try {
      const { session } = await windowsSeen(port);
      try {
        expect(session.remoteSettings.initialWindowSize).toBe(65_535);
        expect(session.state.remoteWindowSize).toBe(65_535);
      } finally {
        session.destroy();
      }
    } finally {
      server.forceShutdown();
    }
  });
});
