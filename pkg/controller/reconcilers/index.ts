// Every reconciler the daemon runs: a kind with one adds a line here.
import type { Objects } from '../../store/objects.js';
import type { Reconciler } from '../manager.js';
import { secretReconciler } from './secret.js';
import { taskReconciler } from './task.js';
import { taskWebhookReconciler } from './task-webhook.js';

export const reconcilers = (store: Objects): Reconciler[] => [secretReconciler(store), taskReconciler(store), taskWebhookReconciler(store)];
