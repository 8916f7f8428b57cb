// A replica's elector in a process of its own, for the lease-elector tests to kill -9:
//   node lease-elector-child.js KUBECONFIG LEASE_NAME LEASE_MS RENEW_MS RETRY_MS
// Prints one JSON line with its identity, then a line on each change of leadership.
import { loadKubeConfig } from '../../pkg/store/kubernetes/kubeconfig.js';
import { LeaseElector } from '../../pkg/store/kubernetes/lease-elector.js';

const [kubeconfig, name, lease, renew, retry] = process.argv.slice(2);
const kc = await loadKubeConfig({ kubeconfig, env: {} });
const elector = await LeaseElector.start(kc, { namespace: 'default', name, leaseDurationMs: Number(lease), renewDeadlineMs: Number(renew), retryPeriodMs: Number(retry) });
process.stdout.write(`${JSON.stringify({ identity: elector.identity })}\n`);
elector.onChange((leader) => process.stdout.write(`${leader ? 'leading' : 'following'}\n`));
process.once('SIGTERM', () => void elector.close().then(() => process.exit(0)));
