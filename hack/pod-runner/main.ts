// The pod runner as a process of its own: `node hack/pod-runner/main.ts --kubeconfig F --logs DIR`.
import { parseArgs } from 'node:util';
import { startPodRunner } from './runner.ts';

const { values } = parseArgs({
  options: { kubeconfig: { type: 'string' }, logs: { type: 'string' }, node: { type: 'string' } },
});
if (!values.kubeconfig || !values.logs) {
  console.error('usage: main.ts --kubeconfig FILE --logs DIR [--node NAME]');
  process.exit(2);
}
const runner = await startPodRunner({
  kubeconfig: values.kubeconfig,
  logDir: values.logs,
  nodeName: values.node,
});
console.error(`pod runner: node ${runner.nodeName}, logs in ${values.logs}`);
const stop = async () => {
  await runner.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
