// Layer direction (shared/ARCHITECTURE.md): imports point down only.
// cli, server -> runbooks, monitor -> recovery, audit, store -> repository, engines, plan
// -> storage -> core. `core` has no node: imports; nothing imports cli or server.
const layer = (name) => `^src/${name}/`;
const forbid = (from, to, comment) => ({
  name: `${from}-not-to-${to.replace(/[^a-z]+/g, '-')}`,
  comment,
  severity: 'error',
  from: { path: layer(from) },
  to: { path: `^src/(${to})/` },
});
module.exports = {
  forbidden: [
    forbid(
      'core',
      'storage|repository|engines|plan|recovery|audit|store|monitor|runbooks|server|cli',
      'core is the bottom layer',
    ),
    forbid(
      'storage',
      'repository|engines|plan|recovery|audit|store|monitor|runbooks|server|cli',
      'storage sits just above core',
    ),
    forbid(
      'repository',
      'engines|plan|recovery|audit|store|monitor|runbooks|server|cli',
      'repository never sees engines or the plan',
    ),
    forbid(
      'engines',
      'repository|plan|recovery|audit|store|monitor|runbooks|server|cli',
      'engines produce streams and never see the repository',
    ),
    forbid(
      'plan',
      'repository|engines|recovery|audit|store|monitor|runbooks|server|cli',
      'the plan is pure validation',
    ),
    forbid('recovery', 'monitor|runbooks|server|cli', 'recovery is below monitor and runbooks'),
    forbid('audit', 'monitor|runbooks|server|cli', 'audit is below monitor and runbooks'),
    forbid('store', 'monitor|runbooks|server|cli', 'store is below monitor and runbooks'),
    forbid('monitor', 'server|cli', 'nothing imports cli or server'),
    forbid('runbooks', 'server|cli', 'nothing imports cli or server'),
    forbid('server', 'cli', 'nothing imports cli'),
    {
      name: 'core-no-node-builtins',
      comment: 'core holds pure types and logic',
      severity: 'error',
      from: { path: '^src/core/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
