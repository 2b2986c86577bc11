// Integration tests start the apps as real processes: bundle them once per jest run, from the
// current sources, so a test never runs stale code.
module.exports = async () => {
  if (globalThis.__rmqAppsBuilt) return;
  const { buildApps } = await import('./build-apps.mjs');
  await buildApps([]);
  // esbuild keeps a service process; stop it so jest's own process can exit when the run ends.
  (await import('esbuild')).stop();
  globalThis.__rmqAppsBuilt = true;
};
