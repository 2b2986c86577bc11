// The console in headless Chromium (Debian's chromium, driven by playwright-core) against a real
// name server, broker and metrics app: it shows the topology and, after a workload, a consumer
// group's lag. The screenshot is kept in test-artifacts/console.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { admin, createClient } from '@rmq/contracts';
import { eventually, killAllApps, makeTempDir, sendWithOfficialClient, startApp, startOfficialSimpleConsumer } from '@rmq/testing';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '../../../test-artifacts');

describe('console', () => {
  const temp = makeTempDir('console');
  afterAll(async () => {
    await killAllApps();
    temp.remove();
  });

  it('shows the broker group with its master and a consumer group\'s lag, refreshed live', async () => {
    const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
    const broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'broker'), '--name-servers', nameServer.endpoints.grpc]);
    const metricsApp = await startApp('metrics', ['--http-listen', '127.0.0.1:0', '--name-servers', nameServer.endpoints.grpc, '--poll-interval-ms', '500']);
    const browser = await chromium.launchPersistentContext(join(temp.path, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1100, height: 700 },
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(`http://${metricsApp.endpoints.http}/`);
      await page.locator('.broker-group', { hasText: 'broker-a' }).waitFor({ timeout: 15_000 });
      expect(await page.locator('.broker-group').innerText()).toMatch(/#0 master/);

      // Workload: 6 messages, a group receives one and does not ack it: lag 6, in flight 1.
      const adminClient = createClient(admin.AdminService, broker.endpoints.grpc);
      await adminClient.createTopic({ name: 'ConsoleTopic', queueCount: 1 }, { deadlineMs: 5_000 });
      adminClient.close();
      await sendWithOfficialClient(broker.endpoints.grpc, 'ConsoleTopic', 6);
      const consumer = await startOfficialSimpleConsumer(broker.endpoints.grpc, 'console-group', 'ConsoleTopic');
      try {
        await eventually(async () => expect(await consumer.receive(1, 120_000)).toHaveLength(1), { timeoutMs: 20_000 });
        const row = page.locator('tr.group-row[data-group="console-group"]');
        await eventually(async () => expect(await row.locator('td.lag').innerText()).toBe('6'), { timeoutMs: 20_000, intervalMs: 250 });
        expect(await row.innerText()).toMatch(/ConsoleTopic\s+6\s+1\s/);
      } finally {
        await consumer.shutdown();
      }
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 90_000);
});
