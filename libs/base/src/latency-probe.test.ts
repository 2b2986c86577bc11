import { LatencyProbe } from './latency-probe';

describe('LatencyProbe: which log fdatasyncs other flushes overlapped', () => {
  it('splits the fdatasyncs into overlapped by a flush, started soon after one, and neither', async () => {
    const probe = new LatencyProbe(1);
    const startedMs = performance.now();
    await probe.timeSync('checkpoint.json datasync', () => new Promise<void>((resolve) => setTimeout(resolve, 2)));
    const endedMs = performance.now();
    probe.commit(1, startedMs + 1, startedMs + 1.5); // within the flush
    probe.commit(1, endedMs + 5, endedMs + 6); // 5 ms after it ended
    probe.commit(1, endedMs + 100, endedMs + 101); // long after
    const report = probe.report();
    expect(report).toMatch(/another flush overlapping +n 1 /);
    expect(report).toMatch(/another flush ended < 20 ms before +n 1 /);
    expect(report).toMatch(/no other flush overlapping or 20 ms before +n 1 /);
    expect(report).toMatch(/overlapped by checkpoint\.json datasync +n 1 /);
    expect(report).toMatch(/other flush checkpoint\.json datasync +ms n 1 /);
  });

  it('times nothing when off, and passes the operation through', async () => {
    const probe = new LatencyProbe(0);
    await expect(probe.timeSync('x', async () => 7)).resolves.toBe(7);
    expect(probe.report()).not.toMatch(/other flush/);
  });
});

describe('LatencyProbe: the slowest 1% by step', () => {
  it('names the step that held each of the slowest records', () => {
    const probe = new LatencyProbe(1);
    const stages = ['sendStarted', 'reserved', 'batchCut', 'written', 'syncIssued', 'synced', 'committed', 'lookStarted', 'claimed', 'deliveryWritten', 'framesWritten'] as const;
    for (let record = 0; record < 200; record++) {
      probe.sample(record); // marks `reserved` now
      let atMs = performance.now() - 0.1;
      for (const stage of stages) {
        // Records 0 and 1 are the slow ones: 0 waits at the fdatasync, 1 for a receive.
        if (stage !== 'sendStarted') atMs += (record === 0 && stage === 'synced') || (record === 1 && stage === 'lookStarted') ? 20 : 0.1;
        probe.mark(record, stage, atMs);
      }
    }
    const report = probe.report();
    expect(report).toMatch(/the slowest 1% \(2 of 200 delivered/);
    expect(report).toMatch(/syncIssued → synced +mean 10\.050 n 2 .*the longest step of 1/);
    expect(report).toMatch(/committed → lookStarted +mean 10\.050 n 2 .*the longest step of 1/);
    expect(report).toMatch(/reserved → batchCut +mean 0\.1\d\d n 2 .*the longest step of 0/);
  });
});

describe('LatencyProbe: the hand-off between fdatasyncs', () => {
  it('reports the idle time before an fdatasync apart when appends waited at the end of the one before', () => {
    const probe = new LatencyProbe(1);
    probe.commit(1, 0, 1, true); // appends waited when it ended
    probe.commit(1, 1.5, 2, false); // 0.5 ms hand-off
    probe.commit(1, 7, 8); // 5 ms idle: nothing waited
    const report = probe.report();
    expect(report).toMatch(/idle before ms +n 3 /);
    expect(report).toMatch(/appends waiting when the last ended \(the hand-off\) n 1 p50 0\.500 /);
  });
});
