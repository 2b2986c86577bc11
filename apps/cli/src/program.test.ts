import { runCli } from './program';
import type { Io } from './io';

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (text) => stdout.push(text), err: (text) => stderr.push(text), nowMs: () => 0 };
}

describe('rmq command line parsing (no network)', () => {
  it('prints help on stdout with exit code 0', async () => {
    const io = capture();
    expect(await runCli(['--help'], io)).toBe(0);
    const help = io.stdout.join('\n');
    expect(help).toContain('Usage: rmq [options] [command]');
    expect(help).toMatch(/topic\s+create and inspect topics/);
    expect(help).toContain('Examples:');
    expect(io.stderr).toEqual([]);
  });

  it('documents defaults and environment variables of topic create', async () => {
    const io = capture();
    expect(await runCli(['topic', 'create', '--help'], io)).toBe(0);
    const help = io.stdout.join('\n').replace(/\s+/g, ' ');
    expect(help).toContain('Usage: rmq topic create [options] <name>');
    expect(help).toContain('default: "127.0.0.1:8081", env: RMQ_BROKER');
    expect(help).toContain('default: 5000, env: RMQ_TIMEOUT_MS');
    expect(help).toContain('choices: "normal", "fifo", "delay", "transaction", default: "normal"');
    expect(help).toContain('rmq topic create Orders --queues 16 --type fifo');
  });

  it.each([
    [['topic', 'create', 'bad name!'], 'not a valid topic name'],
    [['topic', 'create', 'T', '--queues', '0'], "option '-q, --queues <count>' argument '0' is invalid"],
    [['topic', 'create', 'T', '--queues', '-3'], 'expected a number from 1 to 2147483647, got -3'],
    [['topic', 'create', 'T', '--type', 'lite'], 'Allowed choices are normal, fifo, delay, transaction'],
    [['topic', 'create'], "missing required argument 'name'"],
    [['topic', 'show', 'T', '--broker', '8081'], 'expected host:port'],
    [['cluster', 'status', '--timeout-ms', 'soon'], 'expected a whole number'],
    [['cluster', 'stats'], "unknown command 'stats'"],
    [['--frobnicate'], "unknown option '--frobnicate'"],
    [['cluster', 'status', '--tls-cert-file', 'rmq.crt'], '--tls-cert-file and --tls-key-file go together'],
    [['--tls-ca-file', '/nonexistent/ca.crt', 'cluster', 'status'], '--tls-ca-file: cannot read /nonexistent/ca.crt (ENOENT)'],
  ])('refuses %j with exit code 2 before any call', async (args, message) => {
    const io = capture();
    expect(await runCli(args, io)).toBe(2);
    expect(io.stderr[0]).toContain(message);
    expect(io.stdout).toEqual([]);
  });

  it('shows the TLS options in every command\'s help', async () => {
    const io = capture();
    expect(await runCli(['replication', 'status', '--help'], io)).toBe(0);
    const help = io.stdout.join('\n').replace(/\s+/g, ' ');
    expect(help).toContain('--tls-cert-file <pem> mutual TLS: PEM certificate chain this CLI presents (with --tls-key-file) (env: RMQ_TLS_CERT_FILE)');
    expect(help).toContain('--tls-key-file <pem>');
    expect(help).toContain('--tls-ca-file <pem>');
  });

  it('prints its version', async () => {
    const io = capture();
    expect(await runCli(['--version'], io)).toBe(0);
    expect(io.stdout).toEqual([expect.stringMatching(/^\d+\.\d+\.\d+$/)]);
  });
});
