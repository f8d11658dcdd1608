// The chart's values for a cluster whose Pods the pod runner runs: they are local processes sharing
// this host's network, so one operator replica, its metrics on a free loopback port.
export const podRunnerChartValues = (metricsPort: number): string[] => [
  '--set',
  'replicaCount=1',
  '--set',
  `metrics.port=${metricsPort}`,
  '--set',
  'metrics.bindAddress=127.0.0.1',
];
