// Integration tests start the apps as real processes: bundle them once per jest run, from the
// current sources, so a test never runs stale code. Under nx the test targets depend on
// tools:bundle-apps, which bundled them already (tools/test-project.mjs sets RMQ_APPS_PREBUILT).
module.exports = async () => {
  if (globalThis.__rmqAppsBuilt || process.env.RMQ_APPS_PREBUILT === '1') return;
  const { buildApps } = await import('./build-apps.mjs');
  await buildApps([]);
  // esbuild keeps a service process; stop it so jest's own process can exit when the run ends.
  (await import('esbuild')).stop();
  globalThis.__rmqAppsBuilt = true;
};
